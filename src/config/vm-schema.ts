// vm_specs.yaml: one entry per VM or bare-metal box (name, hypervisor, boot method, CPUs, disks, NICs, Proxmox and
// BMC settings). `vmFieldShape` holds the fields defaults.yaml's `vm:` may also set (provisioning.ts layering).

import { z } from 'zod';
import { hostLabelSchema, installModeSchema, macSchema, pxeSettingsSchema } from './fields-schema.js';
import { isHostname, isIpv4 } from './net.js';

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
export const vmFieldShape = {
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
