// Merging one host: defaults < vm_specs < install_config, then the built-in defaults; and the frozen Provisioning
// (lookups by name and MAC) built from the merged hosts.

import { createHash } from 'node:crypto';
import type { ConfigIssue } from './issues.js';
import { parseMac } from '../net/mac.js';
import { deepFreeze, deepMerge } from './objects.js';
import { ubuntuIsoMemberPath } from './catalog-schema.js';
import {
  BUILTIN_INSTALL,
  BUILTIN_VM,
  type DefaultsFile,
  type HostSpec,
  type ImageEntry,
  type InstallEntry,
  type InstallSpec,
  type NetifSpec,
  type Provisioning,
  type VmSpec,
} from './provisioning.js';

/**
 * A stable, locally administered unicast MAC for NIC `index` of a Proxmox VM that has none configured, so pxed
 * knows the MAC before the VM exists: 02 (locally administered bit set, group bit clear) followed by five bytes of
 * sha256("pxed-mac\0<host>\0<index>").
 */
export function derivedMac(host: string, index: number): string {
  const h = createHash('sha256').update(`pxed-mac\0${host}\0${index}`).digest();
  const bytes = [0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function buildProvisioning(
  sources: Provisioning['sources'],
  defaults: DefaultsFile,
  hosts: HostSpec[],
  notes: ConfigIssue[] = [],
): Readonly<Provisioning> {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const byMac = new Map<string, HostSpec>();
  for (const h of hosts) {
    for (const m of hostMacs(h)) if (!byMac.has(m)) byMac.set(m, h);
  }
  deepFreeze(defaults);
  deepFreeze(hosts);
  const prov: Provisioning = {
    sources,
    defaults,
    hosts,
    notes: deepFreeze(notes),
    hostByName: (name) => byName.get(name) ?? null,
    hostByMac: (mac) => {
      const m = parseMac(mac);
      return m === null ? null : (byMac.get(m) ?? null);
    },
  };
  return Object.freeze(prov);
}

/** Every MAC of a host: primary first, then netifs and baremetal.mac (deduplicated). */
function hostMacs(h: HostSpec): string[] {
  const all = [h.mac, (h.baremetal?.mac as string | undefined) ?? null, ...h.netifs.map((n) => n.mac)].filter((m): m is string => m !== null && m !== undefined);
  return [...new Set(all)];
}

/** Applies the layers and the built-in defaults. Pure; the caller validates the result. */
export function mergeHost(vm: VmSpec, inst: InstallEntry, defaults: DefaultsFile): HostSpec {
  const dv = defaults.vm ?? {};
  const hypervisor = vm.hypervisor ?? BUILTIN_VM.hypervisor;
  const v = deepMerge<VmSpec>(
    { cpus: dv.cpus, memory_mb: dv.memory_mb, disks: dv.disks, netifs: dv.netifs, ...(hypervisor === 'proxmox' ? { proxmox: dv.proxmox } : {}) },
    vm,
  );
  const i = deepMerge<InstallEntry>(defaults.install ?? {}, inst);
  const proxmox = hypervisor === 'proxmox' ? (v.proxmox ?? {}) : null;
  const baremetal = hypervisor === 'baremetal' ? (v.baremetal ?? {}) : null;
  // The original describes NICs in the install entry too (network.interfaces as NetIfSpec objects): where the VM
  // leaves a field open, the install entry's NIC at the same position fills it (and adds NICs the VM lacks).
  const nicObjects = (i.network?.interfaces ?? []).filter((x): x is NetifSpec => typeof x !== 'string');
  const vmNics = v.netifs ?? [];
  const count = Math.max(vmNics.length, nicObjects.length);
  const netifs = Array.from({ length: count }, (_, k) => {
    const n = vmNics[k] ?? {};
    const o = nicObjects[k] ?? {};
    const mac = n.mac ?? o.mac ?? null;
    return {
      bridge: n.bridge ?? o.bridge ?? BUILTIN_VM.bridge,
      vlan: n.vlan ?? o.vlan ?? null,
      mac: mac ?? (hypervisor === 'proxmox' ? derivedMac(vm.name, k) : null),
      model: n.model ?? o.model ?? BUILTIN_VM.netif_model,
      mtu: n.mtu ?? o.mtu ?? null,
    };
  });
  const pxe = deepMerge<{ efi_binary?: 'snponly.efi' | 'ipxe.efi'; uefi_strategy?: 'binl' | 'direct'; boot_chain?: 'ipxe' | 'signed'; signed_loaders?: string }>(
    {
      efi_binary: defaults.pxe?.efi_binary,
      uefi_strategy: defaults.pxe?.uefi_strategy,
      boot_chain: defaults.pxe?.boot_chain,
      signed_loaders: defaults.pxe?.signed_loaders,
    },
    vm.pxe,
    inst.pxe,
  );
  const install: InstallSpec = {
    os: i.os,
    version: i.os === 'custom' ? null : (i.version ?? null),
    packages: i.packages ?? [],
    users: (i.users ?? []).map((u) => ({
      username: u.username,
      ssh_authorized_keys: u.ssh_authorized_keys ?? [],
      sudo: u.sudo ?? BUILTIN_INSTALL.sudo,
      shell: u.shell ?? BUILTIN_INSTALL.shell,
      password_hash: u.password_hash ?? null,
    })),
    network: {
      hostname: i.network?.hostname ?? vm.name,
      domain: i.network?.domain ?? null,
      dhcp: i.network?.dhcp ?? BUILTIN_INSTALL.dhcp,
      address_cidr: i.network?.address_cidr ?? null,
      gateway: i.network?.gateway ?? null,
      dns: i.network?.dns ?? [],
      interfaces: (i.network?.interfaces ?? []).filter((x): x is string => typeof x === 'string'),
    },
    docker: i.docker ?? BUILTIN_INSTALL.docker,
    nix_services: i.nix_services ?? [],
    partitioning: {
      // Ubuntu's default is Subiquity's LVM layout; NixOS's plain GPT ESP + root (the installer script's default).
      layout: i.partitioning?.layout ?? (i.os === 'nixos' ? 'direct' : BUILTIN_INSTALL.layout),
      disk: i.partitioning?.disk ?? null,
      swap_mb: i.partitioning?.swap_mb ?? null,
    },
    custom: i.os === 'custom' ? (i.custom ?? null) : null,
  };
  return {
    name: vm.name,
    hypervisor,
    boot_method: vm.boot_method ?? BUILTIN_VM.boot_method,
    cpus: v.cpus ?? BUILTIN_VM.cpus,
    memory_mb: v.memory_mb ?? BUILTIN_VM.memory_mb,
    // A Proxmox VM without disks gets the original's one 50 GB scsi disk.
    disks: (v.disks ?? (hypervisor === 'proxmox' ? [{}] : [])).map((d) => ({
      size_gb: d.size_gb ?? BUILTIN_VM.disk_gb,
      storage: d.storage ?? proxmox?.storage ?? null,
      type: d.type ?? BUILTIN_VM.disk_type,
    })),
    netifs,
    proxmox,
    baremetal,
    mac: baremetal?.mac ?? netifs[0]?.mac ?? null,
    install_mode: inst.install_mode ?? vm.install_mode ?? defaults.pxe?.install_mode ?? null,
    pxe: {
      efi_binary: pxe.efi_binary ?? null,
      uefi_strategy: pxe.uefi_strategy ?? null,
      ...(pxe.boot_chain ? { boot_chain: pxe.boot_chain } : {}),
      ...(pxe.signed_loaders ? { signed_loaders: pxe.signed_loaders } : {}),
    },
    install,
    image: resolveImage(defaults, install),
  };
}

function resolveImage(defaults: DefaultsFile, install: InstallSpec): ImageEntry | null {
  if (install.version === null) return null;
  if (install.os === 'ubuntu') {
    const e = defaults.images.ubuntu?.[install.version];
    if (!e) return null;
    // Only the ISO given: kernel and initrd are the ISO's casper files, which `pxed assets fetch` extracts.
    const kernel = e.kernel_url ?? ubuntuIsoMemberPath(install.version, 'kernel');
    const initrd = e.initrd_url ?? ubuntuIsoMemberPath(install.version, 'initrd');
    return { os: 'ubuntu', version: install.version, iso_url: e.iso_url, kernel_url: kernel, initrd_url: initrd, codename: e.codename ?? null };
  }
  if (install.os === 'nixos') {
    const e = defaults.images.nixos?.[install.version];
    return e ? { os: 'nixos', version: install.version, kernel_url: e.kernel_url, initrd_url: e.initrd_url, netboot_ipxe_url: e.netboot_ipxe_url } : null;
  }
  return null;
}
