// Provisioning checks: whole-file schemas, then names across files, then per-host checks on the merged entries.
// Every problem is appended to the caller's issue list with the position of the key it is about.

import { formatPath, type ConfigIssue, type PathSeg } from './issues.js';
import { mergeHost } from './merge.js';
import { isPlainObject } from './objects.js';
import { ipInCidr, formatIpv4, isHostname, parseCidr } from './net.js';
import {
  defaultsFileSchema,
  installConfigFileSchema,
  installEntrySchema,
  vmSpecSchema,
  vmSpecsFileSchema,
  type DefaultsFile,
  type HostSpec,
  type InstallEntry,
  type VmSpec,
} from './provisioning.js';
import { zodIssues, type YamlSource } from './yaml-source.js';

export interface Layered {
  defaults: DefaultsFile;
  hosts: HostSpec[];
}

/**
 * Schema checks per file, then cross-file checks on the entries that passed. Appends to `issues`. Returns null when
 * a file could not be read or parsed at all.
 */
export function validateProvisioning(
  defSrc: YamlSource | null,
  vmSrc: YamlSource | null,
  instSrc: YamlSource | null,
  issues: ConfigIssue[],
): Layered | null {
  // 1. Whole-file schemas (all zod issues, including unknown top-level keys).
  let defaults: DefaultsFile | null = null;
  if (defSrc) {
    const r = defaultsFileSchema.safeParse(defSrc.data ?? {});
    if (r.success) defaults = r.data;
    else issues.push(...zodIssues(defSrc, r.error, [], defaultsFileSchema));
  }
  const vmEntries: Array<{ index: number; vm: VmSpec }> = [];
  const vmRawNames: Array<{ index: number; name: string }> = [];
  if (vmSrc) {
    const r = vmSpecsFileSchema.safeParse(vmSrc.data ?? {});
    if (!r.success) issues.push(...zodIssues(vmSrc, r.error, [], vmSpecsFileSchema));
    const raw = isPlainObject(vmSrc.data) && Array.isArray(vmSrc.data.vms) ? (vmSrc.data.vms as unknown[]) : [];
    raw.forEach((entry, index) => {
      if (isPlainObject(entry) && typeof entry.name === 'string') vmRawNames.push({ index, name: entry.name });
      const e = vmSpecSchema.safeParse(entry);
      if (e.success) vmEntries.push({ index, vm: e.data });
    });
  }
  const instEntries = new Map<string, InstallEntry>();
  const instRawNames: string[] = [];
  if (instSrc) {
    const r = installConfigFileSchema.safeParse(instSrc.data ?? {});
    if (!r.success) issues.push(...zodIssues(instSrc, r.error, [], installConfigFileSchema));
    const raw = isPlainObject(instSrc.data) && isPlainObject(instSrc.data.installs) ? instSrc.data.installs : {};
    for (const [name, entry] of Object.entries(raw)) {
      instRawNames.push(name);
      const e = installEntrySchema.safeParse(entry);
      if (e.success) instEntries.set(name, e.data);
    }
  }
  if (!defSrc || !vmSrc || !instSrc) return null;

  // 2. Names: unique, and VMs ↔ install entries one to one.
  const firstByName = new Map<string, number>();
  for (const { index, name } of vmRawNames) {
    const first = firstByName.get(name);
    if (first !== undefined) {
      issues.push(vmSrc.issue(['vms', index, 'name'], `duplicate VM name "${name}" (first used at vms[${first}], line ${vmSrc.position(['vms', first, 'name']).line}); expected unique names`));
    } else {
      firstByName.set(name, index);
    }
    if (!instRawNames.includes(name)) {
      issues.push(vmSrc.issue(['vms', index, 'name'], `VM "${name}" has no install entry; expected installs.${name} in ${instSrc.file}`));
    }
  }
  for (const name of instRawNames) {
    if (!firstByName.has(name)) {
      issues.push(instSrc.issue(['installs', name], `install entry "${name}" has no VM; expected a vms entry named "${name}" in ${vmSrc.file}`, true));
    }
  }

  // 3. Merge and check. VM-level checks run on every valid VM, install-level checks on every valid install entry
  //    that has a VM (with a stand-in when that VM entry is itself invalid), so one broken entry does not hide
  //    the problems of its partner. Checks that need defaults.yaml are skipped when it is invalid (reported).
  const d: DefaultsFile = defaults ?? { images: {} };
  const hosts: HostSpec[] = [];
  const macOwner = new Map<string, { host: string; where: string }>();
  const validVms = new Map<string, VmSpec>();
  for (const { index, vm } of vmEntries) {
    if (firstByName.get(vm.name) !== index) continue; // duplicate: already reported
    validVms.set(vm.name, vm);
    const host = mergeHost(vm, { os: 'custom' }, d);
    const at = (p: readonly PathSeg[], message: string) => issues.push(vmSrc.issue(['vms', index, ...p], message));
    if (host.hypervisor === 'proxmox' && vm.baremetal !== undefined) at(['baremetal'], 'a baremetal block is only allowed with hypervisor: baremetal');
    if (host.hypervisor === 'baremetal' && vm.proxmox !== undefined) at(['proxmox'], 'a proxmox block is only allowed with hypervisor: proxmox');
    if (defaults && host.hypervisor === 'proxmox' && !host.proxmox?.node) {
      at(['proxmox', 'node'], 'missing proxmox.node (here or in defaults vm.proxmox); expected the Proxmox node name');
    }
    if (host.boot_method === 'pxe' && host.hypervisor === 'baremetal' && host.mac === null) {
      at(['baremetal', 'mac'], 'bare metal with boot_method: pxe needs a MAC; expected baremetal.mac (or netifs[0].mac)');
    }
    if (defaults && host.boot_method === 'pxe' && host.hypervisor === 'proxmox' && host.netifs.length === 0) {
      at(['netifs'], 'boot_method: pxe needs at least one network interface; expected netifs (here or in defaults vm.netifs)');
    }
    // MACs unique across hosts (one host may repeat its own MAC, e.g. baremetal.mac = netifs[0].mac).
    const macPaths: Array<[PathSeg[], string | null | undefined]> = [
      [['baremetal', 'mac'], vm.baremetal?.mac as string | undefined],
      ...(vm.netifs ?? []).map((n, j): [PathSeg[], string | null | undefined] => [['netifs', j, 'mac'], n.mac]),
    ];
    for (const [p, mac] of macPaths) {
      if (mac === undefined || mac === null) continue;
      const owner = macOwner.get(mac);
      if (owner && owner.host !== vm.name) at(p, `duplicate MAC ${mac} (also used by "${owner.host}" at ${owner.where}); expected a MAC unique to one host`);
      else if (!owner) macOwner.set(mac, { host: vm.name, where: `vms[${index}].${formatPath(p)}` });
    }
  }
  for (const [name, inst] of instEntries) {
    if (!firstByName.has(name)) continue; // no VM: already reported
    const vm = validVms.get(name);
    const host = mergeHost(vm ?? { name, hypervisor: 'proxmox', boot_method: 'pxe' }, inst, d);
    checkInstall(host, inst, defaults, defSrc.has(['images']), (p, message) => issues.push(locateInstall(instSrc, defSrc, name, p).issue(message)), defSrc.file);
    if (vm) hosts.push(host);
  }
  // Keep vm_specs order.
  const order = new Map(vmEntries.map(({ vm }, i) => [vm.name, i]));
  hosts.sort((x, y) => order.get(x.name)! - order.get(y.name)!);
  return defaults ? { defaults, hosts } : null;
}

function checkInstall(
  host: HostSpec,
  inst: InstallEntry,
  defaults: DefaultsFile | null,
  hasImages: boolean,
  atInst: (p: readonly PathSeg[], message: string) => void,
  defaultsFile: string,
): void {
  const ins = host.install;
  if (ins.os === 'custom') {
    if (inst.custom === undefined) atInst(['custom'], 'os: custom needs a custom block; expected custom: {kernel, initrds, cmdline}');
  } else {
    if (inst.custom !== undefined) atInst(['custom'], `a custom block is only allowed with os: custom (os is ${ins.os})`);
    if (ins.version === null) atInst(['version'], `missing version; expected a ${ins.os} version from defaults images.${ins.os}`);
    // Without `images` (the original's defaults.yaml has only image_catalog) there is no netboot catalog to
    // check against; original.ts notes what PXE would need.
    else if (defaults && hasImages && host.image === null) {
      const known = Object.keys(defaults.images[ins.os] ?? {});
      atInst(['version'], `no ${ins.os} "${ins.version}" in the image catalog (${defaultsFile} images.${ins.os}); expected one of ${known.length ? known.join(', ') : '(none defined)'}`);
    }
  }
  const net = ins.network;
  if (!net.dhcp && net.address_cidr === null) atInst(['network', 'address_cidr'], 'static network (dhcp: false) needs address_cidr; expected e.g. 192.0.2.10/24');
  if (net.dhcp && net.address_cidr !== null) atInst(['network', 'address_cidr'], 'address_cidr is only used with dhcp: false; expected dhcp: false or no address_cidr');
  const c = net.address_cidr !== null ? parseCidr(net.address_cidr) : null;
  if (c && net.gateway !== null && !ipInCidr(net.gateway, net.address_cidr!)) {
    atInst(['network', 'gateway'], `gateway ${net.gateway} is outside ${net.address_cidr}; expected an address in that subnet`);
  }
  if (c && c.prefix < 31) {
    const broadcast = (c.network | (~c.mask >>> 0)) >>> 0;
    if (c.address === formatIpv4(c.network) || c.address === formatIpv4(broadcast)) {
      atInst(['network', 'address_cidr'], `${net.address_cidr} is the network or broadcast address; expected a host address`);
    }
  }
  if (c && net.gateway !== null && net.gateway === c.address) {
    atInst(['network', 'gateway'], `gateway ${net.gateway} is the host's own address; expected another address in ${net.address_cidr}`);
  }
  // A hostname defaulted from the VM name was already checked there (as a host label).
  if (net.hostname !== host.name && !isHostname(net.hostname)) atInst(['network', 'hostname'], 'expected an RFC 1123 host name');
  else if (net.domain !== null && !isHostname(`${net.hostname}.${net.domain}`)) {
    atInst(['network', 'domain'], 'host name plus domain exceed 253 characters; expected a shorter FQDN');
  }
  const seenUsers = new Set<string>();
  ins.users.forEach((u, j) => {
    if (seenUsers.has(u.username)) atInst(['users', j, 'username'], `duplicate user "${u.username}"; expected unique user names`);
    seenUsers.add(u.username);
  });
}

/**
 * Where a problem with a merged install field is reported: in defaults.yaml `install:` when that layer gets closer
 * to the field than the install entry does (the value was inherited), else in the install entry.
 */
function locateInstall(instSrc: YamlSource, defSrc: YamlSource, name: string, p: readonly PathSeg[]) {
  const ip: PathSeg[] = ['installs', name, ...p];
  const dp: PathSeg[] = ['install', ...p];
  const fromDefaults = defSrc.depth(dp) - 1 > instSrc.depth(ip) - 2;
  return {
    issue: (message: string) => (fromDefaults ? defSrc.issue(dp, `${message} (inherited by installs.${name})`) : instSrc.issue(ip, message)),
  };
}

