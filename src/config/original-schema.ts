// The original framework's (provision.py) defaults.yaml keys, accepted as first-class input. How each is read is
// reported by original.ts (`config check --verbose`); docs/migrating-from-provision-py.md maps them for users.

import { z } from 'zod';

const httpUrl = z.string().refine((s) => /^https?:\/\/[^\s]+$/.test(s), { message: 'expected an http(s):// URL' });

/** image_catalog: one ISO/cloud image per OS (the original had no per-version catalog). */
export const originalImageCatalogSchema = z.strictObject({
  /** Live-server ISO, attached to boot_method iso VMs. */
  ubuntu_iso_url: httpUrl.optional(),
  /** Cloud image (qcow2/img), the disk of boot_method image VMs. */
  ubuntu_image_url: httpUrl.optional(),
  nixos_iso_url: httpUrl.optional(),
});
export type OriginalImageCatalog = z.output<typeof originalImageCatalogSchema>;

/** proxmox_provider: the Telmate provider's URL, https://host:8006/api2/json. */
export const originalProxmoxProviderSchema = z.strictObject({
  pm_api_url: z
    .string()
    .refine((s) => /^https:\/\/[^\s/]+(:[0-9]+)?(\/api2\/json)?\/?$/.test(s), { message: 'expected https://host:8006/api2/json' }),
  pm_tls_insecure: z.boolean().optional(),
});

/** terraform_backend: the backend block handed to Terraform as is ({} = local state in build/<host>/tf). */
export const terraformBackendSchema = z.record(z.string(), z.unknown());

/** The original's pxe paths (its own TFTP/HTTP servers' roots). pxed serves its own roots (pxed.yaml). */
export const originalPxePathsShape = {
  tftp_root: z.string().regex(/^\/\S*$/, { message: 'expected an absolute path' }).optional(),
  http_root: z.string().regex(/^\/\S*$/, { message: 'expected an absolute path' }).optional(),
};

/** https://host:8006/api2/json → https://host:8006/ (bpg's endpoint form). */
export function endpointFromApiUrl(url: string): string {
  return url.replace(/\/api2\/json\/?$/, '').replace(/\/?$/, '/');
}
