// The one confinement function for static files. Every /assets request goes through confineAsset(); nothing else
// in src/http turns a URL into a file-system path.

import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Directories a symlink inside a root may resolve into. Debian's ipxe package installs /usr/lib/ipxe/ipxe.efi as a
 * symlink to /boot/ipxe.efi (docs/protocol.md §6.5); the request path can never contain `..`, so only links placed
 * in a root by its owner lead there.
 */
export const DEFAULT_SYMLINK_TARGETS: readonly string[] = ['/boot'];

export type ConfineResult =
  | { ok: true; file: string; stat: import('node:fs').Stats }
  /** 400: the request path itself is hostile or malformed; 404: no such regular file inside the root. */
  | { ok: false; status: 400 | 404; reason: string };

/**
 * Checks a still-percent-encoded request path (the part after the route prefix, without query) and returns the real
 * file inside `root`, or why not. Rules, in order:
 *   - decoded exactly once; malformed %-escapes → 400
 *   - NUL, backslash, an absolute path, an empty, `.` or `..` segment → 400 (before and after decoding)
 *   - the real path (symlinks resolved) must lie inside the real root or a real `symlinkTargets` dir → else 404
 *   - only regular files → else 404
 */
export async function confineAsset(
  root: string,
  encodedPath: string,
  symlinkTargets: readonly string[] = DEFAULT_SYMLINK_TARGETS,
): Promise<ConfineResult> {
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
  const inside = (dir: string): boolean => real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
  if (!inside(realRoot)) {
    let allowed = false;
    for (const t of symlinkTargets) {
      const realTarget = await fs.realpath(t).catch(() => null);
      if (realTarget !== null && inside(realTarget)) allowed = true;
    }
    if (!allowed) return missing('resolves outside the root');
  }
  let stat: import('node:fs').Stats;
  try {
    stat = await fs.stat(real);
  } catch {
    return missing('not found');
  }
  if (!stat.isFile()) return missing('not a regular file');
  return { ok: true, file: real, stat };
}
