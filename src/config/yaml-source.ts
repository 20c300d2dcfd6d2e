// YAML with source positions, and zod issues turned into ConfigIssues located in that YAML.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { formatPath, type ConfigIssue, type PathSeg } from './issues.js';

/** One parsed YAML source: its display name, the document (for positions) and its plain JS value. */
export class YamlSource {
  readonly issues: ConfigIssue[] = [];
  readonly data: unknown;
  private readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    for (const e of this.doc.errors) {
      const { line, col } = this.lines.linePos(e.pos[0]);
      this.issues.push({ file, line, col, path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}` });
    }
    this.data = this.doc.errors.length === 0 ? this.doc.toJS({ maxAliasCount: 100 }) : undefined;
  }

  /** How many leading segments of `p` exist in the document. */
  depth(p: readonly PathSeg[]): number {
    return this.walk(p).depth;
  }

  /** True when the exact path exists in the document. */
  has(p: readonly PathSeg[]): boolean {
    return this.walk(p).depth === p.length;
  }

  /**
   * Position of `p`: its value node (or, with `atKey`, its key), or of the deepest existing ancestor when `p` does
   * not exist in this document. 1-based line and column.
   */
  position(p: readonly PathSeg[], atKey = false): { line: number; col: number } {
    const w = this.walk(p);
    const node = atKey && w.depth === p.length && w.key ? w.key : (w.node ?? w.key);
    const offset = node?.range?.[0] ?? 0;
    return this.lines.linePos(offset);
  }

  issue(p: readonly PathSeg[], message: string, atKey = false): ConfigIssue {
    return { file: this.file, ...this.position(p, atKey), path: formatPath(p), message };
  }

  private walk(p: readonly PathSeg[]): { node: YamlNode | null; key: YamlNode | null; depth: number } {
    let node: YamlNode | null = (this.doc.contents as YamlNode | null) ?? null;
    let key: YamlNode | null = null;
    let depth = 0;
    for (const seg of p) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
        if (!pair) break;
        key = pair.key as YamlNode;
        node = (pair.value as YamlNode | null) ?? null;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as YamlNode | undefined;
        if (item === undefined) break;
        key = null;
        node = item;
      } else {
        break;
      }
      depth++;
    }
    return { node, key, depth };
  }
}

/** Turns zod issues into ConfigIssues located in `src` (paths prefixed by `prefix`; `schema` is the one parsed). */
export function zodIssues(src: YamlSource, error: z.ZodError, prefix: readonly PathSeg[] = [], schema?: z.ZodType): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const zi of error.issues) {
    const p = [...prefix, ...(zi.path as PathSeg[])];
    if (zi.code === 'unrecognized_keys') {
      const allowed = schema ? keysAt(schema, zi.path as PathSeg[]) : null;
      const hint = allowed ? `; expected one of ${allowed.join(', ')}` : '';
      for (const k of zi.keys) out.push(src.issue([...p, k], `unknown key "${k}"${hint}`, true));
      continue;
    }
    if (zi.code === 'invalid_key') {
      const inner = zi.issues[0]?.message ?? 'not allowed here';
      out.push(src.issue(p, `invalid key "${String(p[p.length - 1])}": ${inner}`, true));
      continue;
    }
    // zod's own messages start with "Invalid ..."; ours (set in the schemas) already say what is expected.
    let message = zi.message;
    if (zi.code === 'invalid_type' && message.startsWith('Invalid')) message = `expected ${zi.expected}`;
    else if (zi.code === 'invalid_value' && message.startsWith('Invalid')) message = `expected one of ${zi.values.map((v) => JSON.stringify(v)).join(', ')}`;
    if ((zi.code === 'invalid_type' || zi.code === 'invalid_value') && !src.has(p)) message = `missing required key; ${message}`;
    out.push(src.issue(p, message));
  }
  return out;
}

/** The keys an object schema at `p` inside `schema` allows (for "unknown key" hints); null when not an object. */
function keysAt(schema: z.ZodType, p: readonly PathSeg[]): string[] | null {
  let cur: unknown = schema;
  const def = (x: unknown) => (x as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  const unwrap = () => {
    for (let d = def(cur); d && ['optional', 'nullable', 'default', 'prefault', 'pipe', 'readonly'].includes(d.type as string); d = def(cur)) {
      cur = d.type === 'pipe' ? d.in : d.innerType;
    }
  };
  for (const seg of p) {
    unwrap();
    const d = def(cur);
    if (d?.type === 'object') cur = (d.shape as Record<string, unknown>)[String(seg)];
    else if (d?.type === 'array') cur = d.element;
    else if (d?.type === 'record') cur = d.valueType;
    else return null;
  }
  unwrap();
  const d = def(cur);
  return d?.type === 'object' ? Object.keys(d.shape as Record<string, unknown>) : null;
}

