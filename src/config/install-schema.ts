// install_config.yaml: one install entry per host (os, version, packages, users, network, partitioning, and the
// `os: custom` boot profile). `installFieldShape` holds the fields defaults.yaml's `install:` may also set.

import { z } from 'zod';
import { cidrSchema, hostnameSchema, installModeSchema, ipv4Schema, pxeSettingsSchema, sshKeySchema, versionSchema } from './fields-schema.js';
import { netifSchema } from './vm-schema.js';

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
