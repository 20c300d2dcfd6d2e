// defaults.yaml leaf sections in pxed's form: the per-version netboot image catalog, the Proxmox provider, Ansible
// defaults and HTTP settings. (The original framework's forms are in original-schema.ts.)

import { z } from 'zod';

const httpUrlSchema = z.string().refine((s) => /^https?:\/\/[^\s]+$/.test(s), { message: 'expected an http(s):// URL' });
/** A version string. YAML reads 24.04 unquoted as a number (and 22.10 as 22.1), so numbers are refused. */
const versionSchema = z
  .string({ error: 'expected a version string; quote it, e.g. "24.04"' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'expected a version like "24.04" or "unstable"' });

/**
 * A path below the asset roots: segments of letters, digits and `_ + - .`, none empty or starting with `.` (so no
 * `..`, no hidden files, no absolute path), at most 512 characters. Served by pxed as `/assets/<path>`.
 */
const ASSET_PATH = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*(\/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)*$/;
export function isAssetPath(s: string): boolean {
  return s.length <= 512 && ASSET_PATH.test(s);
}
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\/[^\s]+$/.test(s);
}
/** An http(s) URL, or an asset-root-relative path that pxed serves itself (a mirrored catalog works on any address). */
const assetRefSchema = z.string().refine((s) => isHttpUrl(s) || isAssetPath(s), {
  message: 'expected an http(s):// URL or a path relative to the asset roots (like ubuntu/24.04/linux; no "..", no leading "/" or ".")',
});
const sha256Schema = z
  .string()
  .regex(/^[0-9A-Fa-f]{64}$/, { message: 'expected a SHA-256 as 64 hex digits' })
  .transform((s) => s.toLowerCase());

/** Where `pxed assets fetch` checks an image's files: per-file SHA-256 and/or the release's SHA256SUMS. */
const checksumShape = {
  /** URL of the release's SHA256SUMS (`<hex> [*]<name>` lines); a file is looked up by its source URL's tail. */
  sha256sums_url: httpUrlSchema.optional(),
};

/** Ubuntu's kernel and initrd inside the live-server ISO (`pxed assets fetch` extracts them). */
export const UBUNTU_ISO_MEMBERS = { kernel: 'casper/vmlinuz', initrd: 'casper/initrd' } as const;
/** Where the kernel or initrd extracted from an image's ISO lives when the catalog gives only the ISO. */
export function ubuntuIsoMemberPath(version: string, role: keyof typeof UBUNTU_ISO_MEMBERS): string {
  return `ubuntu/${version}/${UBUNTU_ISO_MEMBERS[role]}`;
}

export const ubuntuImageSchema = z.strictObject({
  /** Live-server ISO; casper fetches it into RAM (url=). Must be the same release as kernel/initrd. */
  iso_url: assetRefSchema,
  /** casper/vmlinuz of that ISO (or `linux` of the matching netboot tarball). Default: extracted from the ISO. */
  kernel_url: assetRefSchema.optional(),
  /** casper/initrd of that ISO. Default: extracted from the ISO. */
  initrd_url: assetRefSchema.optional(),
  codename: z.string().regex(/^[a-z]+$/).optional(),
  sha256: z.strictObject({ iso: sha256Schema.optional(), kernel: sha256Schema.optional(), initrd: sha256Schema.optional() }).optional(),
  /** Download URLs of asset-relative entries (`pxed assets fetch` writes them under the entry's path). */
  source: z.strictObject({ iso: httpUrlSchema.optional(), kernel: httpUrlSchema.optional(), initrd: httpUrlSchema.optional() }).optional(),
  ...checksumShape,
});
export const nixosImageSchema = z.strictObject({
  kernel_url: assetRefSchema,
  initrd_url: assetRefSchema,
  /** netboot.ipxe of the same build: the only trustworthy source of the init= store path. */
  netboot_ipxe_url: assetRefSchema,
  sha256: z
    .strictObject({ kernel: sha256Schema.optional(), initrd: sha256Schema.optional(), netboot_ipxe: sha256Schema.optional() })
    .optional(),
  source: z
    .strictObject({ kernel: httpUrlSchema.optional(), initrd: httpUrlSchema.optional(), netboot_ipxe: httpUrlSchema.optional() })
    .optional(),
  ...checksumShape,
});
export const imageCatalogSchema = z.strictObject({
  ubuntu: z.record(versionSchema, ubuntuImageSchema).optional(),
  nixos: z.record(versionSchema, nixosImageSchema).optional(),
});
export type ImageCatalog = z.output<typeof imageCatalogSchema>;

export const proxmoxProviderSchema = z.strictObject({
  /** https://<host>:8006/ (without /api2/json). Credentials come from the environment, never from here. */
  endpoint: z.string().refine((s) => /^https:\/\/[^\s/]+(:[0-9]+)?\/$/.test(s), { message: 'expected https://host:8006/ (with trailing "/", no path)' }),
  insecure: z.boolean().optional(),
  /** Environment variable holding the API token (user@realm!id=secret). */
  api_token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
});
export type ProxmoxProvider = z.output<typeof proxmoxProviderSchema>;

export const ansibleDefaultsSchema = z.strictObject({
  user: z.string().min(1).optional(),
  become: z.boolean().optional(),
  python_interpreter: z.string().regex(/^\/\S+$/).optional(),
  ssh_common_args: z.string().optional(),
  /** Private key used to reach installed hosts (a path on the daemon's machine). */
  ssh_private_key_file: z.string().min(1).optional(),
});
export type AnsibleDefaults = z.output<typeof ansibleDefaultsSchema>;

export const httpSettingsSchema = z.strictObject({
  /** Base URL installers use to reach pxed when it differs from http://<server address>:<port>/. */
  public_url: httpUrlSchema.optional(),
});
