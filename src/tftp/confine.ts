// The one confinement function every TFTP path goes through (static roots and dynamic policy files alike).
// Firmware facts: some ROMs send `\` separators and a leading `/` (dnsmasq tftp.c normalises both); nobody
// legitimately sends `..`. Symlinks are allowed only when their real target stays inside the same root, or inside
// a configured symlink-target directory: Debian's /usr/lib/ipxe/ipxe.efi is a symlink to /boot/ipxe.efi
// (docs/protocol.md §6.5). Requested names can never contain `..`, so only links placed in a root lead there.

import type { BigIntStats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PxedError } from '../errors.js';

/** Longest accepted name in bytes (UTF-8). A 512-byte RRQ cannot carry much more anyway. */
export const MAX_NAME_BYTES = 255;

export type ConfinedPath =
  | {
      /** Normalised relative name ("ipxe/snponly.efi"): what the boot policy is asked about and what logs show. */
      name: string;
      /** Real path of a regular file inside one of the roots (first root that has it). */
      file: string;
      /** The stat that found it a regular file (the file cache's version check). */
      stat: BigIntStats;
    }
  | { name: string; file: null };

function denied(reason: string, raw: string): PxedError {
  return new PxedError('TFTP_ACCESS_DENIED', `path refused: ${reason}`, { path: raw.slice(0, 300) });
}

/**
 * Pure half of confine(): the normalised relative name, or throws TFTP_ACCESS_DENIED.
 * Rules: NUL and control characters refused; `\` becomes `/`; leading `/` stripped; empty and `.` segments dropped;
 * any `..` segment refused (not resolved); drive-letter / UNC forms refused; at most MAX_NAME_BYTES.
 */
export function normalizeName(raw: string): string {
  if (Buffer.byteLength(raw, 'utf8') > MAX_NAME_BYTES) throw denied('name too long', raw);
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw denied('control character or NUL in name', raw);
  if (/^[A-Za-z]:/.test(raw)) throw denied('drive-letter path', raw);
  const segments = raw.replace(/\\/g, '/').split('/');
  const kept: string[] = [];
  for (const seg of segments) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw denied('parent-directory segment', raw);
    kept.push(seg);
  }
  if (kept.length === 0) throw denied('empty name', raw);
  return kept.join('/');
}

async function realRoot(root: string): Promise<string | null> {
  try {
    return await fs.realpath(root);
  } catch {
    return null;
  }
}

/** Is `real` the directory `dir` or inside it? Both are real paths. */
export function isInside(dir: string, real: string): boolean {
  const rel = path.relative(dir, real);
  return !(rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel));
}

export interface ConfineOptions {
  /** The roots are already real paths (fs.realpath of each). */
  rootsAreReal?: boolean;
  /** Directories a symlink inside a root may resolve into (default none). */
  symlinkTargets?: readonly string[];
  /** The symlink targets are already real paths. */
  targetsAreReal?: boolean;
}

/**
 * Confines a requested TFTP path. Throws TFTP_ACCESS_DENIED for hostile names; otherwise returns the normalised name
 * and the first root (in order) holding a regular file of that name whose real path (symlinks resolved) stays
 * inside that root's real path or inside one of `symlinkTargets`.
 */
export async function confine(raw: string, roots: readonly string[], opts: ConfineOptions = {}): Promise<ConfinedPath> {
  const name = normalizeName(raw);
  const targets: string[] = [];
  for (const t of opts.symlinkTargets ?? []) {
    const real = opts.targetsAreReal ? t : await realRoot(t);
    if (real) targets.push(real);
  }
  for (const root of roots) {
    // The server resolves its roots once at start (saves a realpath per request); direct callers get it here.
    const rootReal = opts.rootsAreReal ? root : await realRoot(root);
    if (!rootReal) continue;
    let real: string;
    try {
      real = await fs.realpath(path.join(rootReal, name));
    } catch {
      continue;
    }
    if (!isInside(rootReal, real) && !targets.some((t) => isInside(t, real))) continue; // symlink leading out of the root
    let stat: BigIntStats;
    try {
      stat = await fs.stat(real, { bigint: true });
      if (!stat.isFile()) continue;
    } catch {
      continue;
    }
    return { name, file: real, stat };
  }
  return { name, file: null };
}
