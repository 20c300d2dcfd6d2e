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

import { z } from 'zod';
import { BOOT_CHAINS, EFI_BINARIES, INSTALL_MODES, UEFI_STRATEGIES } from '../model/machine.js';
import { ansibleDefaultsSchema, httpSettingsSchema, imageCatalogSchema, proxmoxProviderSchema } from './catalog-schema.js';
import type { ConfigIssue } from './issues.js';
import { parseMac } from '../net/mac.js';
import { isHostLabel, isHostname, isIpv4, isSshPublicKey, parseCidr } from './net.js';
import {
  originalImageCatalogSchema,
  originalProxmoxProviderSchema,
  originalPxePathsShape,
  terraformBackendSchema,
} from './original-schema.js';

// ---------------------------------------------------------------------------------------------------------------
// Field schemas

/** A MAC in any accepted spelling, output in lower-case colon form. */
export const macSchema = z
  .string()
  .refine((s) => parseMac(s) !== null, {
    message: 'expected a MAC address like 52:54:00:12:34:56, 52-54-00-12-34-56 or 5254.0012.3456',
  })
  .transform((s) => parseMac(s)!);

export const ipv4Schema = z.string().refine(isIpv4, { message: 'expected an IPv4 address like 192.0.2.10' });
export const cidrSchema = z
  .string()
  .refine((s) => parseCidr(s) !== null, { message: 'expected an IPv4 address with prefix length like 192.0.2.10/24' });
export const hostnameSchema = z
  .string()
  .refine(isHostname, { message: 'expected an RFC 1123 host name (letters, digits, "-", dot-separated labels of 1-63)' });
/** A single-label name (VM names double as host names). */
export const hostLabelSchema = z.string().refine(isHostLabel, {
  message: 'expected an RFC 1123 host label: 1-63 letters, digits or "-", not starting or ending with "-"',
});
export const sshKeySchema = z.string().refine(isSshPublicKey, {
  message: 'expected an OpenSSH public key line: "ssh-ed25519|ssh-rsa|ecdsa-sha2-*|sk-* <base64> [comment]"',
});
/** A version string. YAML reads 24.04 unquoted as a number (and 22.10 as 22.1), so numbers are refused. */
const versionSchema = z
  .string({ error: 'expected a version string; quote it, e.g. "24.04"' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'expected a version like "24.04" or "unstable"' });

export const efiBinarySchema = z.enum(EFI_BINARIES);
export const uefiStrategySchema = z.enum(UEFI_STRATEGIES);
export const installModeSchema = z.enum(INSTALL_MODES);
/** ipxe: our iPXE chain; signed: Secure Boot through the signed shim → GRUB (src/boot/chain.ts). */
export const bootChainSchema = z.enum(BOOT_CHAINS);
/** A directory under the asset roots: relative, no `..` segment, plain characters. */
export const assetDirSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/, {
    message: 'expected a relative directory under the asset roots (letters, digits, . _ -, no leading / or ..)',
  })
  .refine((d) => !d.split('/').includes('..'), { message: 'must not contain ..' });

/** Per-host PXE knobs (defaults.pxe < vm < install entry). */
export const pxeSettingsSchema = z.strictObject({
  /** Which iPXE EFI binary UEFI PXE ROMs chain to (snponly.efi uses the firmware's NIC driver). */
  efi_binary: efiBinarySchema.optional(),
  /** How the proxy-DHCP OFFER anchors a UEFI PXE boot (see UefiStrategy in src/model/machine.ts). */
  uefi_strategy: uefiStrategySchema.optional(),
  /** ipxe (default) or signed (Secure Boot: shim → GRUB, docs/secure-boot.md). */
  boot_chain: bootChainSchema.optional(),
  /**
   * Signed chain: the directory under the asset roots holding this OS's own signed shim and GRUB (Ubuntu's netboot
   * tarball `amd64/`: bootx64.efi, grubx64.efi); absent: tftp.signed_roots (Debian's).
   */
  signed_loaders: assetDirSchema.optional(),
});
export type PxeSettings = z.output<typeof pxeSettingsSchema>;

// ---------------------------------------------------------------------------------------------------------------
// vm_specs.yaml

export const diskSchema = z.strictObject({
  /** Default 50 (the original's default). */
  size_gb: z.number().int().min(8, { message: 'expected a disk size of at least 8 GB' }).optional(),
  /** Proxmox datastore; falls back to the VM's proxmox.storage. */
  storage: z.string().min(1).optional(),
  type: z.enum(['scsi', 'virtio', 'sata']).optional(),
});
export type DiskSpec = z.output<typeof diskSchema>;

/** vlan, mac and mtu may be null (the original writes `vlan: null`): the same as absent. */
export const netifSchema = z.strictObject({
  bridge: z.string().min(1).optional(),
  vlan: z.number().int().min(1, { message: 'expected a VLAN id 1-4094' }).max(4094, { message: 'expected a VLAN id 1-4094' }).nullable().optional(),
  mac: macSchema.nullable().optional(),
  model: z.enum(['virtio', 'e1000', 'rtl8139']).optional(),
  mtu: z.number().int().min(576, { message: 'expected an MTU of 576-9216' }).max(9216, { message: 'expected an MTU of 576-9216' }).nullable().optional(),
});
export type NetifSpec = z.output<typeof netifSchema>;

export const proxmoxVmSchema = z.strictObject({
  node: z.string().min(1).optional(),
  storage: z.string().min(1).optional(),
  iso_storage: z.string().min(1).optional(),
  /** Datastore with the snippets content type (boot_method image: the cloud-init user-data); default iso_storage. */
  snippets_storage: z.string().min(1).optional(),
  /** boot_method image: the cloud-image template VM to clone (else image_catalog.ubuntu_image_url is imported). */
  template_vm_id: z.number().int().min(100).max(999999999).optional(),
  pool: z.string().min(1).optional(),
  vm_id: z.number().int().min(100).max(999999999).optional(),
  bios: z.enum(['seabios', 'ovmf']).optional(),
  tags: z.array(z.string().regex(/^[a-z0-9_.+-]+$/i)).optional(),
});
export type ProxmoxVmSpec = z.output<typeof proxmoxVmSchema>;

export const ipmiSchema = z.strictObject({
  /** BMC address (IPv4 or host name). */
  address: z.string().refine((s) => isIpv4(s) || isHostname(s), { message: 'expected an IPv4 address or host name' }),
  username: z.string().min(1).optional(),
  /** Name of the environment variable holding the BMC password (never inline). */
  password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  interface: z.enum(['lan', 'lanplus']).optional(),
});
/** Free-form as in the original: mac, ipmi (pxed's form) or ipmi_host/ipmi_user/ipmi_pass (the original's); other keys are kept. */
export const baremetalSchema = z.looseObject({
  mac: macSchema.optional(),
  ipmi: ipmiSchema.optional(),
  ipmi_host: z.string().refine((s) => isIpv4(s) || isHostname(s), { message: 'expected an IPv4 address or host name' }).optional(),
  ipmi_user: z.string().min(1).optional(),
  ipmi_pass: z.string().optional(),
});
export type BaremetalSpec = z.output<typeof baremetalSchema>;

/** VM fields that may come from defaults.vm (all optional there). */
const vmFieldShape = {
  cpus: z.number().int().min(1, { message: 'expected at least 1 CPU' }),
  memory_mb: z.number().int().min(512, { message: 'expected at least 512 MB of memory' }),
  disks: z.array(diskSchema),
  netifs: z.array(netifSchema),
  proxmox: proxmoxVmSchema,
  baremetal: baremetalSchema,
  install_mode: installModeSchema,
  pxe: pxeSettingsSchema,
};

export const vmSpecSchema = z.strictObject({
  name: hostLabelSchema,
  /** Default proxmox (the original's default). */
  hypervisor: z.enum(['proxmox', 'baremetal']).optional(),
  /** Default iso (the original's default). */
  boot_method: z.enum(['iso', 'image', 'pxe']).optional(),
  cpus: vmFieldShape.cpus.optional(),
  memory_mb: vmFieldShape.memory_mb.optional(),
  disks: vmFieldShape.disks.optional(),
  netifs: vmFieldShape.netifs.optional(),
  proxmox: vmFieldShape.proxmox.optional(),
  baremetal: vmFieldShape.baremetal.optional(),
  install_mode: vmFieldShape.install_mode.optional(),
  pxe: vmFieldShape.pxe.optional(),
});
export type VmSpec = z.output<typeof vmSpecSchema>;

export const vmSpecsFileSchema = z.strictObject({ vms: z.array(vmSpecSchema) });
export type VmSpecsFile = z.output<typeof vmSpecsFileSchema>;

// ---------------------------------------------------------------------------------------------------------------
// install_config.yaml

export const userSchema = z.strictObject({
  username: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'expected a POSIX user name (lower case, max 32)' }),
  ssh_authorized_keys: z.array(sshKeySchema).optional(),
  sudo: z.boolean().optional(),
  shell: z.string().regex(/^\/[^\s]*$/, { message: 'expected an absolute path like /bin/bash' }).optional(),
  /** crypt(3) hash (e.g. from `mkpasswd -m sha-512`), never a plain password. */
  password_hash: z.string().regex(/^\$[0-9a-z]+\$[^\s]+$/, { message: 'expected a crypt(3) hash like $6$salt$hash' }).optional(),
});
export type UserSpec = z.output<typeof userSchema>;

export const networkSchema = z.strictObject({
  /** Defaults to the VM name. */
  hostname: hostnameSchema.optional(),
  domain: hostnameSchema.optional(),
  /** true (default): DHCP; false: static, needs address_cidr (and gateway inside it, if given). */
  dhcp: z.boolean().optional(),
  address_cidr: cidrSchema.optional(),
  gateway: ipv4Schema.optional(),
  dns: z.array(ipv4Schema).optional(),
  /** Interface names the configuration applies to (e.g. ens18); default: the NIC matching the primary MAC. */
  /**
   * Interface names (e.g. ens18), or NetIfSpec objects as the original writes them (bridge, vlan, mac, model, mtu):
   * those describe the host's NICs in order and are read as its netifs (see original.ts).
   */
  interfaces: z
    .array(z.union([z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, { message: 'expected a Linux interface name' }), netifSchema], { error: 'expected a Linux interface name or a NetIfSpec mapping {bridge, vlan, mac, model, mtu}' }))
    .optional(),
});
export type NetworkSpec = z.output<typeof networkSchema>;

export const partitioningSchema = z.strictObject({
  layout: z.enum(['lvm', 'direct']).optional(),
  /** Target disk device, e.g. /dev/sda; default: the installer's choice (largest disk). */
  disk: z.string().regex(/^\/dev\/[^\s]+$/, { message: 'expected a device path like /dev/sda' }).optional(),
  swap_mb: z.number().int().min(0).optional(),
});
export type PartitioningSpec = z.output<typeof partitioningSchema>;

/** A kernel/initrd reference: a path relative to the HTTP asset roots, or an absolute http(s) URL. */
const assetRefSchema = z.string().refine((s) => /^https?:\/\/\S+$/.test(s) || (/^[^\s/:][^\s:]*$/.test(s) && !s.split('/').includes('..')), {
  message: 'expected an asset-relative path (no leading "/", no "..") or an http(s):// URL',
});

/**
 * `os: custom`: a pixiecore-style profile. The cmdline may contain the placeholders {{ server }}, {{ http_port }},
 * {{ mac }}, {{ hostname }} and {{ phone_home_url }}, filled by the boot policy (and nothing else).
 */
export const CUSTOM_PLACEHOLDERS = ['server', 'http_port', 'mac', 'hostname', 'phone_home_url'] as const;
export const customBootSchema = z.strictObject({
  kernel: assetRefSchema,
  initrds: z.array(assetRefSchema),
  cmdline: z.string().superRefine((s, ctx) => {
    for (const m of s.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
      if (!(CUSTOM_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
        ctx.addIssue({ code: 'custom', message: `unknown placeholder {{ ${m[1]} }}; expected one of ${CUSTOM_PLACEHOLDERS.join(', ')}` });
      }
    }
  }),
});
export type CustomBoot = z.output<typeof customBootSchema>;

/** Install fields that may come from defaults.install (all optional there). */
const installFieldShape = {
  version: versionSchema,
  packages: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9+._:-]*$/, { message: 'expected a package name' })),
  users: z.array(userSchema),
  network: networkSchema,
  docker: z.boolean(),
  /** NixOS services to enable (`services.<name>.enable = true`), e.g. openssh, gitlab-runner. */
  nix_services: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_'-]*(\.[A-Za-z_][A-Za-z0-9_'-]*)*$/, { message: 'expected a NixOS service attribute name' })),
  partitioning: partitioningSchema,
  install_mode: installModeSchema,
  pxe: pxeSettingsSchema,
};

export const installEntrySchema = z.strictObject({
  os: z.enum(['ubuntu', 'nixos', 'custom']),
  version: installFieldShape.version.optional(),
  packages: installFieldShape.packages.optional(),
  users: installFieldShape.users.optional(),
  network: installFieldShape.network.optional(),
  docker: installFieldShape.docker.optional(),
  nix_services: installFieldShape.nix_services.optional(),
  partitioning: installFieldShape.partitioning.optional(),
  install_mode: installFieldShape.install_mode.optional(),
  pxe: installFieldShape.pxe.optional(),
  /** Required when (and only allowed when) os is custom. */
  custom: customBootSchema.optional(),
});
export type InstallEntry = z.output<typeof installEntrySchema>;

export const installConfigFileSchema = z.strictObject({
  installs: z.record(z.string(), installEntrySchema),
});
export type InstallConfigFile = z.output<typeof installConfigFileSchema>;

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
