// The doctor's view of the catalog assets (src/doctor wires it): one check per asset the boots load from pxed,
// shaped like src/doctor/checks.ts `Check`, each failure naming the `pxed assets fetch` command that fixes it.

import type { ImageCatalog } from '../config/catalog-schema.js';
import { catalogAssets } from './catalog.js';
import { assetProblem } from './status.js';

export interface AssetCheck {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  summary: string;
  fix?: string;
}

/**
 * Checks every catalog asset pxed serves or reads (asset-relative entries, URLs under `selfUrls`, NixOS
 * netboot.ipxe): missing = fail, present without a verified checksum = warn. Offline, no hashing. Mirrored copies
 * of http(s) entries are not needed by a boot and are not checked.
 */
export async function assetChecks(images: ImageCatalog, roots: readonly string[], selfUrls: readonly string[] = []): Promise<AssetCheck[]> {
  const out: AssetCheck[] = [];
  for (const spec of catalogAssets(images, selfUrls).filter((s) => s.servedByPxed)) {
    const id = `asset:${spec.name}`;
    const p = await assetProblem(spec.path, roots, spec);
    if (p === null) out.push({ id, status: 'ok', summary: `${spec.path} is present and verified` });
    else out.push({ id, status: p.severity === 'error' ? 'fail' : 'warn', summary: p.message, fix: p.fix });
  }
  return out;
}
