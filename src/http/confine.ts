// The one confinement function for static files. Every /assets request goes through confineAsset(); nothing else
// in src/http turns a URL into a file-system path.

import fs from 'node:fs/promises';
import path from 'node:path';

export type ConfineResult =
  | { ok: true; file: string; stat: import('node:fs').Stats }
  /** 400: the request path itself is hostile or malformed; 404: no such regular file inside the root. */
  | { ok: false; status: 400 | 404; reason: string };

/**
 * Checks a still-percent-encoded request path (the part after the route prefix, without query) and returns the real
 * file inside `root`, or why not. Rules, in order:
 *   - decoded exactly once; malformed %-escapes → 400
 *   - NUL, backslash, an absolute path, an empty, `.` or `..` segment → 400 (before and after decoding)
 *   - the real path (symlinks resolved) must lie inside the real root → else 404
 *   - only regular files → else 404
 */
export async function confineAsset(root: string, encodedPath: string): Promise<ConfineResult> {
  const bad = (reason: string): ConfineResult => ({ ok: false, status: 400, reason });
  const missing = (reason: string): ConfineResult => ({ ok: false, status: 404, reason });

  let rel: string;
  try {
    rel = decodeURIComponent(encodedPath);
  } catch {
    return bad('malformed percent-encoding');
  }
  for (const p of [encodedPath, rel]) {
    if (p.length === 0) return bad('empty path');
    if (p.includes('\0')) return bad('NUL in path');
    if (p.includes('\\')) return bad('backslash in path');
    if (p.startsWith('/') || path.isAbsolute(p) || /^[a-zA-Z]:/.test(p)) return bad('absolute path');
    for (const seg of p.split('/')) {
      if (seg === '' || seg === '.' || seg === '..') return bad('empty, . or .. segment');
    }
  }

  let realRoot: string;
  let real: string;
  try {
    realRoot = await fs.realpath(root);
    real = await fs.realpath(path.join(realRoot, rel));
  } catch {
    return missing('not found');
  }
  const prefix = realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep;
  if (!real.startsWith(prefix)) return missing('resolves outside the root');
  let stat: import('node:fs').Stats;
  try {
    stat = await fs.stat(real);
  } catch {
    return missing('not found');
  }
  if (!stat.isFile()) return missing('not a regular file');
  return { ok: true, file: real, stat };
}
