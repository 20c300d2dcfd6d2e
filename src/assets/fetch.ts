// `pxed assets fetch` and `verify`: get each selected catalog asset into the first asset root, verified, and
// renamed into place only when complete, so the HTTP server never serves a half-written or unverified-corrupt
// file under the name the boot uses. Contract per asset:
//   - bytes go to `<file>.part` (kept after an interruption; the next run resumes it with Range);
//   - the SHA-256 comes from the catalog, else from the image's SHA256SUMS; a mismatch deletes the `.part` and
//     leaves any previous file untouched; no known checksum = fetched but reported unverified;
//   - fsync, rename over `<file>`, then the `<file>.sha256` record when verified;
//   - Ubuntu kernel/initrd with source `iso` are extracted from the (fetched) ISO the same way.

import { open, rename, unlink } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PxedError, describeError } from '../errors.js';
import { MAX_BYTES, fetchCommand, type AssetSpec } from './catalog.js';
import { download, downloadText, type DownloadProgress } from './download.js';
import { extractFromIso } from './iso.js';
import { assetFile, locate } from './status.js';
import { lookupSha256, parseSha256Sums, readRecord, removeRecord, sha256File, writeRecord } from './verify.js';

export type FetchEvent =
  | { type: 'start'; name: string; from: string; resumeAt: number }
  | { type: 'progress'; name: string; progress: DownloadProgress }
  | { type: 'note'; name: string; message: string };

export interface FetchResult {
  name: string;
  path: string;
  outcome: 'fetched' | 'present' | 'failed';
  verified: boolean;
  sha256: string | null;
  message: string;
}

export interface FetchOptions {
  /** Where files are written (the first asset root). */
  root: string;
  onEvent?: (e: FetchEvent) => void;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
  maxRedirects?: number;
  progressIntervalMs?: number;
}

/** SHA256SUMS documents by URL, fetched once per run. */
type SumsCache = Map<string, Promise<Map<string, string>>>;

async function expectedSha(spec: AssetSpec, sourceUrl: string | null, sums: SumsCache, opts: FetchOptions): Promise<{ hex: string | null; note: string | null }> {
  if (spec.sha256 !== null) return { hex: spec.sha256, note: null };
  if (spec.sha256sumsUrl === null || sourceUrl === null) return { hex: null, note: 'no checksum in the catalog (sha256 or sha256sums_url)' };
  let doc = sums.get(spec.sha256sumsUrl);
  if (doc === undefined) {
    doc = downloadText(spec.sha256sumsUrl, MAX_BYTES['netboot.ipxe'], opts).then(parseSha256Sums);
    sums.set(spec.sha256sumsUrl, doc);
  }
  const hex = lookupSha256(await doc, sourceUrl);
  return { hex, note: hex === null ? `${spec.sha256sumsUrl} does not list ${sourceUrl}` : null };
}

async function syncAndRename(part: string, file: string): Promise<void> {
  const fh = await open(part, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(part, file);
  // The directory entry too, so the rename survives a crash.
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Checks `part` against `expected`, then moves it into place. A mismatch deletes `part` (ASSET_CHECKSUM). */
async function install(spec: AssetSpec, part: string, file: string, expected: string | null): Promise<string> {
  const hex = await sha256File(part);
  if (expected !== null && hex !== expected) {
    await unlink(part).catch(() => undefined);
    throw new PxedError('ASSET_CHECKSUM', `${spec.name}: SHA-256 ${hex} is not the expected ${expected}; the download was discarded`, { name: spec.name });
  }
  await removeRecord(file);
  await syncAndRename(part, file);
  if (expected !== null) await writeRecord(file, hex);
  return hex;
}

async function fetchOne(spec: AssetSpec, all: ReadonlyMap<string, AssetSpec>, sums: SumsCache, opts: FetchOptions): Promise<FetchResult> {
  const file = assetFile(opts.root, spec.path);
  const result = (outcome: FetchResult['outcome'], verified: boolean, sha256: string | null, message: string): FetchResult => ({
    name: spec.name,
    path: spec.path,
    outcome,
    verified,
    sha256,
    message,
  });
  const source = spec.source;
  if (source.kind === 'none') {
    const st = await locate(spec.path, [opts.root], spec.sha256);
    if (st.state === 'present') {
      if (st.verified) return result('present', true, null, 'present, verified');
      if (spec.sha256 === null) return result('present', false, null, 'present (placed by hand), not verified: no sha256 for it in the catalog');
      const hex = await sha256File(st.file);
      if (hex !== spec.sha256) throw new PxedError('ASSET_CHECKSUM', `${spec.name}: ${st.file} has SHA-256 ${hex}, not the catalog's ${spec.sha256}`, { name: spec.name });
      await writeRecord(st.file, hex);
      return result('present', true, hex, 'present, verified now');
    }
    throw new PxedError('ASSET_INVALID', `${spec.name}: the catalog names no source for ${spec.path}; copy the file to ${file} or add source.${spec.role === 'netboot.ipxe' ? 'netboot_ipxe' : spec.role}`, { name: spec.name });
  }
  const sourceUrl = source.kind === 'url' ? source.url : null;
  const { hex: expected, note } = await expectedSha(spec, sourceUrl, sums, opts);

  // Already there: verified by its record, or (with a known checksum) by hashing it now.
  const recorded = await readRecord(file);
  const have = await locate(spec.path, [opts.root], expected);
  if (have.state === 'present') {
    if (recorded !== null && (expected === null || recorded === expected)) return result('present', true, recorded, 'present, verified');
    if (expected !== null) {
      const hex = await sha256File(file);
      if (hex === expected) {
        await writeRecord(file, hex);
        return result('present', true, hex, 'present, verified now');
      }
      opts.onEvent?.({ type: 'note', name: spec.name, message: `${spec.path} does not match the expected SHA-256; fetching it again` });
    } else if (source.kind === 'url') {
      return result('present', false, null, `present, not verified: ${note}`);
    }
  }

  await mkdir(path.dirname(file), { recursive: true });
  const part = `${file}.part`;
  if (source.kind === 'url') {
    const resumeAt = (await locate(`${spec.path}.part`, [opts.root]).then((s) => (s.state === 'present' ? s.size : 0)).catch(() => 0));
    opts.onEvent?.({ type: 'start', name: spec.name, from: source.url, resumeAt });
    await download({
      url: source.url,
      partFile: part,
      maxBytes: MAX_BYTES[spec.role],
      ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
      ...(opts.maxRedirects !== undefined ? { maxRedirects: opts.maxRedirects } : {}),
      ...(opts.progressIntervalMs !== undefined ? { progressIntervalMs: opts.progressIntervalMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (progress) => opts.onEvent?.({ type: 'progress', name: spec.name, progress }),
    });
    const hex = await install(spec, part, file, expected);
    return result('fetched', expected !== null, hex, expected !== null ? 'fetched, SHA-256 verified' : `fetched, not verified: ${note}`);
  }

  // Extracted from the image's ISO: verified when the ISO is (or when the catalog gives this file's checksum).
  const isoSpec = all.get(source.iso);
  const iso = isoSpec ? await locate(isoSpec.path, [opts.root], isoSpec.sha256) : { state: 'missing' as const };
  if (iso.state !== 'present') {
    throw new PxedError('ASSET_INVALID', `${spec.name}: extracted from the ISO, which is missing (${fetchCommand(source.iso)})`, { name: spec.name });
  }
  opts.onEvent?.({ type: 'start', name: spec.name, from: `${iso.file}:/${source.member}`, resumeAt: 0 });
  await extractFromIso(iso.file, source.member, part, MAX_BYTES[spec.role], opts.signal);
  if (spec.sha256 !== null || iso.verified) {
    const hex = spec.sha256 ?? (await sha256File(part));
    const installed = await install(spec, part, file, hex);
    return result('fetched', true, installed, `extracted from ${isoSpec!.path}, verified`);
  }
  const hex = await install(spec, part, file, null);
  return result('fetched', false, hex, `extracted from ${isoSpec!.path}, not verified: the ISO is not verified`);
}

/**
 * Fetches `specs` (catalog order: an ISO before what is extracted from it) into `opts.root`. Never throws for one
 * asset: each result says fetched, present or failed (with the reason); the caller decides the exit status.
 */
export async function fetchAssets(specs: readonly AssetSpec[], all: readonly AssetSpec[], opts: FetchOptions): Promise<FetchResult[]> {
  const byName = new Map(all.map((s) => [s.name, s]));
  const sums: SumsCache = new Map();
  const out: FetchResult[] = [];
  for (const spec of specs) {
    if (opts.signal?.aborted) break;
    try {
      out.push(await fetchOne(spec, byName, sums, opts));
    } catch (err) {
      out.push({ name: spec.name, path: spec.path, outcome: 'failed', verified: false, sha256: null, message: describeError(err) });
    }
  }
  return out;
}

export interface VerifyResult {
  name: string;
  path: string;
  outcome: 'verified' | 'unverified' | 'mismatch' | 'missing';
  message: string;
}

/**
 * Re-hashes each present asset (first root that has it) against the catalog's SHA-256, else the `.sha256` record
 * written when it was verified. Offline. A mismatch removes the record (the file then reads as unverified).
 */
export async function verifyAssets(specs: readonly AssetSpec[], roots: readonly string[]): Promise<VerifyResult[]> {
  const out: VerifyResult[] = [];
  for (const spec of specs) {
    const r = (outcome: VerifyResult['outcome'], message: string): VerifyResult => ({ name: spec.name, path: spec.path, outcome, message });
    const st = await locate(spec.path, roots);
    if (st.state === 'missing') {
      out.push(r('missing', `missing; ${fetchCommand(spec.name)}`));
      continue;
    }
    const recorded = await readRecord(st.file);
    const expected = spec.sha256 ?? recorded;
    const hex = await sha256File(st.file);
    if (expected === null) out.push(r('unverified', `${st.file}: no checksum known (catalog sha256 or a fetch with sha256sums_url); sha256 ${hex}`));
    else if (hex !== expected) {
      await removeRecord(st.file);
      out.push(r('mismatch', `${st.file}: SHA-256 ${hex} is not the expected ${expected}; ${fetchCommand(spec.name)} replaces it`));
    } else {
      if (recorded !== hex) await writeRecord(st.file, hex);
      out.push(r('verified', `${st.file}: ok`));
    }
  }
  return out;
}
