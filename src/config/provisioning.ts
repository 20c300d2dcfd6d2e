// The three layered provisioning inputs (defaults.yaml, vm_specs.yaml, install_config.yaml) as zod strict schemas,
// and the merged per-host model `HostSpec` the rest of pxed uses.
//
// Naming: keys stay snake_case exactly as written in YAML, in the schemas and in the exported types, so an error
// path like `vms[2].netifs[0].mac` is also the TypeScript property path.
//
// Layering (deep merge, later wins, arrays replace, see deepMerge):
//   per-VM fields:      defaults.vm      < vm_specs.vms[i]
//   per-install fields: defaults.install < installs.<name>
//   install_mode, pxe:  defaults.pxe     < vm_specs.vms[i]     < installs.<name>
// so install_config > vm_specs > defaults. Layer schemas therefore carry no zod defaults (a default in a higher
// layer would hide a lower layer's value); built-in defaults (BUILTIN_*) are applied after merging, in load.ts.
//
// The schemas by section: fields-schema.ts (shared fields), vm-schema.ts (vm_specs.yaml), install-schema.ts
// (install_config.yaml), catalog-schema.ts and original-schema.ts (defaults.yaml's parts); defaults.yaml's own
// schema and the merged model are here. Everything is re-exported from here, the one import for the rest of pxed.

import { z } from 'zod';
import { ansibleDefaultsSchema, httpSettingsSchema, imageCatalogSchema, proxmoxProviderSchema } from './catalog-schema.js';
import { assetDirSchema, bootChainSchema, efiBinarySchema, installModeSchema, uefiStrategySchema } from './fields-schema.js';
import { installEntrySchema, type CustomBoot } from './install-schema.js';
import type { ConfigIssue } from './issues.js';
import { vmFieldShape, type BaremetalSpec, type ProxmoxVmSpec } from './vm-schema.js';
import {
  originalImageCatalogSchema,
  originalProxmoxProviderSchema,
  originalPxePathsShape,
  terraformBackendSchema,
} from './original-schema.js';

export * from './fields-schema.js';
export * from './vm-schema.js';
export * from './install-schema.js';

// ---------------------------------------------------------------------------------------------------------------
// defaults.yaml

export {
  ansibleDefaultsSchema,
  httpSettingsSchema,
  imageCatalogSchema,
  nixosImageSchema,
  proxmoxProviderSchema,
  ubuntuImageSchema,
  type AnsibleDefaults,
  type ImageCatalog,
  type ProxmoxProvider,
} from './catalog-schema.js';

export const defaultsFileSchema = z.strictObject({
  /** Per-version netboot catalog (pxed's form; needed for boot_method pxe). Absent in the original's files. */
  images: imageCatalogSchema.default({}),
  /** The original's per-OS ISO/cloud image URLs (boot_method iso and image). */
  image_catalog: originalImageCatalogSchema.optional(),
  proxmox_provider: originalProxmoxProviderSchema.optional(),
  ansible_defaults: ansibleDefaultsSchema.optional(),
  terraform_backend: terraformBackendSchema.optional(),
  proxmox: proxmoxProviderSchema.optional(),
  ansible: ansibleDefaultsSchema.optional(),
  pxe: z
    .strictObject({
      efi_binary: efiBinarySchema.optional(),
      uefi_strategy: uefiStrategySchema.optional(),
      boot_chain: bootChainSchema.optional(),
      signed_loaders: assetDirSchema.optional(),
      install_mode: installModeSchema.optional(),
      ...originalPxePathsShape,
    })
    .optional(),
  http: httpSettingsSchema.optional(),
  /** Defaults for every VM in vm_specs.yaml. */
  vm: z
    .strictObject({
      cpus: vmFieldShape.cpus.optional(),
      memory_mb: vmFieldShape.memory_mb.optional(),
      disks: vmFieldShape.disks.optional(),
      netifs: vmFieldShape.netifs.optional(),
      proxmox: vmFieldShape.proxmox.optional(),
    })
    .optional(),
  /** Defaults for every entry in install_config.yaml. */
  install: installEntrySchema
    .pick({ packages: true, users: true, network: true, docker: true, nix_services: true, partitioning: true })
    .optional(),
});
export type DefaultsFile = z.output<typeof defaultsFileSchema>;

// ---------------------------------------------------------------------------------------------------------------
// The merged model

/** Built-in values applied after the three layers are merged. */
/** The original's defaults: proxmox, iso, 2 CPUs, 4096 MB, 50 GB scsi disks. */
export const BUILTIN_VM = {
  hypervisor: 'proxmox',
  boot_method: 'iso',
  cpus: 2,
  memory_mb: 4096,
  disk_gb: 50,
  disk_type: 'scsi',
  bridge: 'vmbr0',
  netif_model: 'virtio',
} as const;
export const BUILTIN_INSTALL = { dhcp: true, docker: false, sudo: false, shell: '/bin/bash', layout: 'lvm' } as const;

/** A catalog image of one host. Each *_url is an http(s) URL or a path relative to the asset roots (served by pxed). */
export type ImageEntry =
  | { os: 'ubuntu'; version: string; iso_url: string; kernel_url: string; initrd_url: string; codename: string | null }
  | { os: 'nixos'; version: string; kernel_url: string; initrd_url: string; netboot_ipxe_url: string };

/** The merged install entry of one host (defaults.install < installs.<name>, then built-ins). */
export interface InstallSpec {
  os: 'ubuntu' | 'nixos' | 'custom';
  /** null only for os: custom. */
  version: string | null;
  packages: string[];
  users: Array<{ username: string; ssh_authorized_keys: string[]; sudo: boolean; shell: string; password_hash: string | null }>;
  network: {
    /** Always set: network.hostname or the host's name. */
    hostname: string;
    domain: string | null;
    dhcp: boolean;
    /** Set when dhcp is false (validated). */
    address_cidr: string | null;
    gateway: string | null;
    dns: string[];
    interfaces: string[];
  };
  docker: boolean;
  nix_services: string[];
  partitioning: { layout: 'lvm' | 'direct'; disk: string | null; swap_mb: number | null };
  /** Set exactly when os is custom. */
  custom: CustomBoot | null;
}

/** One machine pxed knows how to provision: a VM (or bare-metal box) with its merged install entry. */
export interface HostSpec {
  /** VM name = install entry key = default host name (RFC 1123 label). */
  name: string;
  hypervisor: 'proxmox' | 'baremetal';
  boot_method: 'iso' | 'image' | 'pxe';
  cpus: number;
  memory_mb: number;
  disks: Array<{ size_gb: number; storage: string | null; type: 'scsi' | 'virtio' | 'sata' }>;
  netifs: Array<{ bridge: string; vlan: number | null; mac: string | null; model: 'virtio' | 'e1000' | 'rtl8139'; mtu: number | null }>;
  /** Present for hypervisor proxmox (possibly empty fields); null for baremetal. */
  proxmox: ProxmoxVmSpec | null;
  /** Present for hypervisor baremetal; null for proxmox. */
  baremetal: BaremetalSpec | null;
  /** The PXE identity: baremetal.mac, else the first netif MAC; lower-case colon form; null when unknown yet. */
  mac: string | null;
  /** null: use the daemon policy (policy.install_mode). */
  install_mode: 'once' | 'always' | null;
  /** boot_chain: absent or null = the daemon default (ipxe); signed_loaders: absent or null = tftp.signed_roots. */
  pxe: {
    efi_binary: 'snponly.efi' | 'ipxe.efi' | null;
    uefi_strategy: 'binl' | 'direct' | null;
    boot_chain?: 'ipxe' | 'signed' | null;
    signed_loaders?: string | null;
  };
  install: InstallSpec;
  /** The catalog entry for install.os/version from defaults.images; null for os: custom. */
  image: ImageEntry | null;
}

/** The validated, merged, frozen provisioning inputs. */
export interface Provisioning {
  /** Where each input came from ("-" is reported as "<stdin>"). */
  sources: { defaults: string; vmSpecs: string; installConfig: string };
  /** How keys of the original framework (and derived values) were read; printed by `config check --verbose`. */
  notes: readonly ConfigIssue[];
  defaults: DefaultsFile;
  hosts: readonly HostSpec[];
  /** null when no host has that name. */
  hostByName(name: string): HostSpec | null;
  /** Any MAC spelling accepted by parseMac (src/net/mac.ts); matches the primary MAC or any netif MAC. null when unknown. */
  hostByMac(mac: string): HostSpec | null;
}

export { deepFreeze, deepMerge, isPlainObject } from './objects.js';
