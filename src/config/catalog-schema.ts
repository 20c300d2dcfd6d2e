// defaults.yaml leaf sections in pxed's form: the per-version netboot image catalog, the Proxmox provider, Ansible
// defaults and HTTP settings. (The original framework's forms are in original-schema.ts.)

import { z } from 'zod';

const httpUrlSchema = z.string().refine((s) => /^https?:\/\/[^\s]+$/.test(s), { message: 'expected an http(s):// URL' });
/** A version string. YAML reads 24.04 unquoted as a number (and 22.10 as 22.1), so numbers are refused. */
const versionSchema = z
  .string({ error: 'expected a version string; quote it, e.g. "24.04"' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'expected a version like "24.04" or "unstable"' });

export const ubuntuImageSchema = z.strictObject({
  /** Live-server ISO; casper fetches it into RAM (url=). Must be the same release as kernel/initrd. */
  iso_url: httpUrlSchema,
  /** casper/vmlinuz of that ISO (or `linux` of the matching netboot tarball). */
  kernel_url: httpUrlSchema,
  /** casper/initrd of that ISO. */
  initrd_url: httpUrlSchema,
  codename: z.string().regex(/^[a-z]+$/).optional(),
});
export const nixosImageSchema = z.strictObject({
  kernel_url: httpUrlSchema,
  initrd_url: httpUrlSchema,
  /** netboot.ipxe of the same build: the only trustworthy source of the init= store path. */
  netboot_ipxe_url: httpUrlSchema,
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
