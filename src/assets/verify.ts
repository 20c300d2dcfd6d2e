// Checksums of assets: SHA-256 of a file, SHA256SUMS lookups, and the `<file>.sha256` record `pxed assets fetch`
// and `verify` write next to a file whose bytes matched a known checksum. The record is in sha256sum(1) format
// (`sha256sum -c` reads it). It counts only while it is at least as new as the file: a file replaced after it was
// verified is unverified again.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/**
 * Parses SHA256SUMS (`<64 hex> <space or *><name>` per line; other lines are ignored) into name → lower-case hex.
 * A `./` prefix of a name is dropped.
 */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9A-Fa-f]{64}) [ *]?(\S.*)$/.exec(line.trim());
    if (m) out.set(m[2]!.replace(/^\.\//, ''), m[1]!.toLowerCase());
  }
  return out;
}

/**
 * The checksum SHA256SUMS lists for the file at `url`: the entry whose name is the URL's path tail (`linux`,
 * `amd64/linux`, `netboot/amd64/linux`, ...), the longest such name first. null when none matches.
 */
export function lookupSha256(sums: ReadonlyMap<string, string>, url: string): string | null {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url).pathname);
  } catch {
    return null;
  }
  let best: { name: string; hex: string } | null = null;
  for (const [name, hex] of sums) {
    if ((pathname === `/${name}` || pathname.endsWith(`/${name}`)) && (best === null || name.length > best.name.length)) best = { name, hex };
  }
  return best?.hex ?? null;
}

export const RECORD_SUFFIX = '.sha256';

export function recordFile(file: string): string {
  return file + RECORD_SUFFIX;
}

/** Writes `<file>.sha256` atomically (temporary file + rename). */
export async function writeRecord(file: string, hex: string): Promise<void> {
  const rec = recordFile(file);
  const tmp = `${rec}.tmp`;
  await writeFile(tmp, `${hex}  ${path.basename(file)}\n`, { mode: 0o644 });
  await rename(tmp, rec);
}

export async function removeRecord(file: string): Promise<void> {
  await unlink(recordFile(file)).catch(() => undefined);
}

/** The hash in `<file>.sha256` when that record is well-formed and not older than the file; else null. */
export async function readRecord(file: string): Promise<string | null> {
  const rec = recordFile(file);
  try {
    const [fs, rs, text] = await Promise.all([stat(file), stat(rec), readFile(rec, 'utf8')]);
    if (rs.size > 4096 || rs.mtimeMs < fs.mtimeMs) return null;
    const m = /^([0-9a-f]{64}) [ *]?(\S+)\n?$/.exec(text);
    return m && m[2] === path.basename(file) ? m[1]! : null;
  } catch {
    return null;
  }
}
