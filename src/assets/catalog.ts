// What the image catalog (defaults.yaml `images:`) references, as a list of named assets: where each lives under
// an asset root, where `pxed assets fetch` gets it and how it is verified. Pure: no I/O.
//
// Layout under an asset root (the first root is where `pxed assets fetch` writes):
//   - an asset-relative catalog entry lives at exactly that path (pxed serves it as /assets/<path>);
//   - an http(s) entry is mirrored at <os>/<version>/<last URL segment> (the boot keeps using the URL; write that
//     path into the catalog to serve the copy from pxed instead);
//   - NixOS netboot.ipxe always at nixos/<version>/netboot.ipxe unless its entry is asset-relative (read at start:
//     src/boot/os/nixos.ts);
//   - Ubuntu kernel/initrd that are asset-relative without a source URL (the default when the catalog gives only the
//     ISO: ubuntu/<version>/casper/vmlinuz and casper/initrd) are extracted from the image's ISO.

import { PxedError } from '../errors.js';
import { UBUNTU_ISO_MEMBERS, isAssetPath, isHttpUrl, ubuntuIsoMemberPath, type ImageCatalog } from '../config/catalog-schema.js';

export type AssetRole = 'iso' | 'kernel' | 'initrd' | 'netboot.ipxe';

export type AssetSource =
  /** Downloaded from this URL. */
  | { kind: 'url'; url: string }
  /** Extracted from the ISO asset `iso` (its name); `member` is the path inside the ISO. */
  | { kind: 'iso'; iso: string; member: string }
  /** Nowhere to get it from: the operator copies it into an asset root. */
  | { kind: 'none' };

export interface AssetSpec {
  /** `<os>/<version>/<role>`, e.g. ubuntu/24.04/kernel: what `pxed assets fetch` takes. */
  name: string;
  os: 'ubuntu' | 'nixos';
  version: string;
  role: AssetRole;
  /** Path below an asset root. */
  path: string;
  /** true: the boot loads it from pxed (asset-relative entry, or netboot.ipxe which pxed reads); false: a mirror. */
  servedByPxed: boolean;
  source: AssetSource;
  /** Lower-case hex from the catalog's sha256 map, or null. */
  sha256: string | null;
  /** The image's SHA256SUMS URL, or null. */
  sha256sumsUrl: string | null;
}

/** Upper bound of an asset's size by role (a server claiming more is refused before anything is written). */
export const MAX_BYTES: Readonly<Record<AssetRole, number>> = {
  iso: 16 * 1024 ** 3,
  kernel: 512 * 1024 ** 2,
  initrd: 4 * 1024 ** 3,
  'netboot.ipxe': 1024 ** 2,
};

function bad(message: string, details: Record<string, unknown> = {}): PxedError {
  return new PxedError('ASSET_INVALID', message, details);
}

/** The last segment of an http(s) URL's path, decoded; ASSET_INVALID when it is not a safe file name. */
export function urlFileName(url: string): string {
  let segment: string;
  try {
    const u = new URL(url);
    segment = decodeURIComponent(u.pathname.split('/').pop() ?? '');
  } catch {
    throw bad(`cannot read a file name from ${JSON.stringify(url)}`, { url });
  }
  if (!isAssetPath(segment) || segment.includes('/')) throw bad(`${JSON.stringify(url)} does not end in a usable file name`, { url });
  return segment;
}

/** An asset-relative reference as a path, or the `/assets/<path>` of a URL under one of `selfUrls` (pxed itself). */
export function localRef(ref: string, selfUrls: readonly string[] = []): string | null {
  if (!isHttpUrl(ref)) return isAssetPath(ref) ? ref : null;
  for (const base of selfUrls) {
    const prefix = `${base.replace(/\/+$/, '')}/assets/`;
    if (!ref.startsWith(prefix)) continue;
    let rel: string;
    try {
      rel = decodeURIComponent(ref.slice(prefix.length).split(/[?#]/)[0]!);
    } catch {
      return null;
    }
    return isAssetPath(rel) ? rel : null;
  }
  return null;
}

/** Where a catalog entry's file lives under an asset root (see the layout above). */
export function assetPathOf(os: 'ubuntu' | 'nixos', version: string, role: AssetRole, ref: string, selfUrls: readonly string[] = []): string {
  const local = localRef(ref, selfUrls);
  if (local !== null) return local;
  if (role === 'netboot.ipxe') return `nixos/${version}/netboot.ipxe`;
  return `${os}/${version}/${urlFileName(ref)}`;
}

interface Entry {
  role: AssetRole;
  ref: string;
  sourceUrl: string | undefined;
  sha256: string | undefined;
}

function specOf(os: 'ubuntu' | 'nixos', version: string, e: Entry, sums: string | undefined, selfUrls: readonly string[], isoName: string | null): AssetSpec {
  const local = localRef(e.ref, selfUrls);
  let source: AssetSource;
  if (local === null) source = { kind: 'url', url: e.ref };
  else if (e.sourceUrl !== undefined) source = { kind: 'url', url: e.sourceUrl };
  else if (isoName !== null && (e.role === 'kernel' || e.role === 'initrd')) source = { kind: 'iso', iso: isoName, member: UBUNTU_ISO_MEMBERS[e.role] };
  else source = { kind: 'none' };
  return {
    name: `${os}/${version}/${e.role}`,
    os,
    version,
    role: e.role,
    path: assetPathOf(os, version, e.role, e.ref, selfUrls),
    servedByPxed: local !== null || e.role === 'netboot.ipxe',
    source,
    sha256: e.sha256 ?? null,
    sha256sumsUrl: sums ?? null,
  };
}

/**
 * Every asset of the catalog, in catalog order (an ISO before the files extracted from it). `selfUrls` are pxed's
 * own base URLs (http://<address>:<port>, public_url): catalog URLs under them count as asset-relative.
 */
export function catalogAssets(images: ImageCatalog, selfUrls: readonly string[] = []): AssetSpec[] {
  const out: AssetSpec[] = [];
  for (const [version, img] of Object.entries(images.ubuntu ?? {})) {
    const isoName = `ubuntu/${version}/iso`;
    const entries: Entry[] = [
      { role: 'iso', ref: img.iso_url, sourceUrl: img.source?.iso, sha256: img.sha256?.iso },
      { role: 'kernel', ref: img.kernel_url ?? ubuntuIsoMemberPath(version, 'kernel'), sourceUrl: img.source?.kernel, sha256: img.sha256?.kernel },
      { role: 'initrd', ref: img.initrd_url ?? ubuntuIsoMemberPath(version, 'initrd'), sourceUrl: img.source?.initrd, sha256: img.sha256?.initrd },
    ];
    for (const e of entries) out.push(specOf('ubuntu', version, e, img.sha256sums_url, selfUrls, isoName));
  }
  for (const [version, img] of Object.entries(images.nixos ?? {})) {
    const entries: Entry[] = [
      { role: 'kernel', ref: img.kernel_url, sourceUrl: img.source?.kernel, sha256: img.sha256?.kernel },
      { role: 'initrd', ref: img.initrd_url, sourceUrl: img.source?.initrd, sha256: img.sha256?.initrd },
      { role: 'netboot.ipxe', ref: img.netboot_ipxe_url, sourceUrl: img.source?.netboot_ipxe, sha256: img.sha256?.netboot_ipxe },
    ];
    for (const e of entries) out.push(specOf('nixos', version, e, img.sha256sums_url, selfUrls, null));
  }
  return out;
}

/**
 * The assets `names` select: a full name (ubuntu/24.04/kernel), an image (ubuntu/24.04) or an OS (nixos); no
 * names = all. ISOs that a selected extracted file needs come along. ASSET_UNKNOWN for a name that matches nothing.
 */
export function selectAssets(all: readonly AssetSpec[], names: readonly string[]): AssetSpec[] {
  if (names.length === 0) return [...all];
  const picked = new Set<string>();
  for (const n of names) {
    const key = n.replace(/\/+$/, '');
    const hits = all.filter((a) => a.name === key || a.name.startsWith(`${key}/`));
    if (hits.length === 0) {
      throw new PxedError('ASSET_UNKNOWN', `no asset "${n}"; expected one of ${all.map((a) => a.name).join(', ') || '(the catalog is empty)'}`, { name: n });
    }
    for (const a of hits) {
      picked.add(a.name);
      if (a.source.kind === 'iso') picked.add(a.source.iso);
    }
  }
  return all.filter((a) => picked.has(a.name));
}

/** The command that fetches this asset (named in config check, render and doctor messages). */
export function fetchCommand(name: string): string {
  return `pxed assets fetch ${name}`;
}
