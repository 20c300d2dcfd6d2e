// Configuration problems: one ConfigIssue {file, line, col, path, message} each, collected and thrown at once as one
// PxedError CONFIG_INVALID (details.issues) whose message lists `file:line:col: path: message` lines.

import { PxedError } from '../errors.js';

export interface ConfigIssue {
  /** The file as the caller named it, "<stdin>" for "-", "<command line>" for CLI overrides. */
  file: string;
  /** 1-based; 0 when the problem has no position (unreadable file, command-line override). */
  line: number;
  col: number;
  /** Key path like `vms[2].netifs[0].mac`; "" for the whole document. */
  path: string;
  /** What is wrong and what is expected. */
  message: string;
}

export type PathSeg = string | number;

export function formatPath(p: readonly PathSeg[]): string {
  let out = '';
  for (const seg of p) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file;
  return i.path === '' ? `${where}: ${i.message}` : `${where}: ${i.path}: ${i.message}`;
}

/** The CONFIG_INVALID error for a non-empty issue list. */
export function configError(unsorted: ConfigIssue[]): PxedError {
  // Group by file (in order of first appearance), then by position.
  const fileOrder = new Map<string, number>();
  for (const i of unsorted) if (!fileOrder.has(i.file)) fileOrder.set(i.file, fileOrder.size);
  const issues = [...unsorted].sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.col - b.col);
  const n = issues.length;
  const lines = issues.map((i) => `  ${formatIssue(i)}`);
  return new PxedError('CONFIG_INVALID', [`invalid configuration (${n} error${n === 1 ? '' : 's'}):`, ...lines].join('\n'), {
    issues,
  });
}

