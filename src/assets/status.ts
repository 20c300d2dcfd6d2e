// Where an asset is and whether it is verified, read from the asset roots without touching the network or hashing
// (for `pxed assets list`, `pxed config check`, `pxed render` and the doctor). Roots are searched in order, as the
// HTTP server does.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { isAssetPath } from '../config/catalog-schema.js';
import { PxedError } from '../errors.js';
import { fetchCommand, type AssetSpec } from './catalog.js';
import { readRecord } from './verify.js';

/** `<root>/<rel>` for a validated asset path; ASSET_INVALID for anything that could leave the root. */
export function assetFile(root: string, rel: string): string {
  if (!isAssetPath(rel)) throw new PxedError('ASSET_INVALID', `asset path ${JSON.stringify(rel)} is not a plain relative path`, { path: rel });
  const file = path.resolve(root, rel);
  const base = path.resolve(root);
  if (!file.startsWith(base + path.sep)) throw new PxedError('ASSET_INVALID', `asset path ${JSON.stringify(rel)} leaves ${root}`, { path: rel });
  return file;
}

export type AssetState =
  | { state: 'missing' }
  /** verified: a `.sha256` record at least as new as the file, agreeing with the catalog's checksum when it has one. */
  | { state: 'present'; file: string; size: number; verified: boolean; reason: string | null };

/** The first regular file at `rel` in `roots`, with its verification record. */
export async function locate(rel: string, roots: readonly string[], expected: string | null = null): Promise<AssetState> {
  for (const root of roots) {
    const file = assetFile(root, rel);
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) continue;
      size = s.size;
    } catch {
      continue;
    }
    const recorded = await readRecord(file);
    if (recorded === null) return { state: 'present', file, size, verified: false, reason: 'no checksum record (or the file changed since it was verified)' };
    if (expected !== null && recorded !== expected) return { state: 'present', file, size, verified: false, reason: 'recorded checksum differs from the catalog' };
    return { state: 'present', file, size, verified: true, reason: null };
  }
  return { state: 'missing' };
}

export type Severity = 'error' | 'warning';

export interface AssetProblem {
  severity: Severity;
  /** The asset path below the roots. */
  path: string;
  /** Catalog asset name, when the path belongs to one. */
  name: string | null;
  message: string;
  /** The command (or action) that fixes it. */
  fix: string;
}

/**
 * What is wrong with the asset at `rel` for a machine that boots it: missing (error) or, for a catalog asset,
 * present but unverified (warning), with the `pxed assets fetch` command that fixes it; null when it is fine.
 * `spec` is the catalog asset stored at that path, if any.
 */
export async function assetProblem(rel: string, roots: readonly string[], spec: AssetSpec | null): Promise<AssetProblem | null> {
  const name = spec?.name ?? null;
  const where = roots.length === 0 ? 'no asset roots are configured (http.asset_roots)' : `not in ${roots.join(', ')}`;
  const st = await locate(rel, roots, spec?.sha256 ?? null);
  if (st.state === 'missing') {
    const fix =
      spec === null || spec.source.kind === 'none'
        ? `copy the file to <asset root>/${rel}${spec !== null ? ` (the catalog names no source for ${spec.name})` : ''}`
        : roots.length === 0
          ? `set http.asset_roots, then ${fetchCommand(spec.name)}`
          : fetchCommand(spec.name);
    return { severity: 'error', path: rel, name, message: `asset ${rel} is missing: ${where}`, fix };
  }
  // A file the catalog does not describe (os: custom) has no checksum to verify against: present is all we know.
  if (!st.verified && spec !== null) {
    return { severity: 'warning', path: rel, name, message: `asset ${rel} is not verified: ${st.reason}`, fix: fetchCommand(spec.name) };
  }
  return null;
}

/** Catalog assets by their path (for mapping a rendered reference back to its name). */
export function byPath(specs: readonly AssetSpec[]): Map<string, AssetSpec> {
  return new Map(specs.map((s) => [s.path, s]));
}
