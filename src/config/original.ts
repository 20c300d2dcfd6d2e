// How the original framework's (provision.py) keys are read, as notes for `config check --verbose`, and the
// accessors the orchestrator uses where pxed's form and the original's both exist (pxed's own key wins).

import type { ConfigIssue, PathSeg } from './issues.js';
import { derivedMac } from './merge.js';
import { isPlainObject } from './objects.js';
import { endpointFromApiUrl } from './original-schema.js';
import type { DefaultsFile, HostSpec } from './provisioning.js';
import type { YamlSource } from './yaml-source.js';

/** The Proxmox API endpoint for bpg (https://host:8006/): proxmox.endpoint, else proxmox_provider.pm_api_url. */
export function proxmoxEndpoint(d: DefaultsFile): string | null {
  if (d.proxmox?.endpoint) return d.proxmox.endpoint;
  return d.proxmox_provider ? endpointFromApiUrl(d.proxmox_provider.pm_api_url) : null;
}

/** Whether TLS verification is skipped (proxmox.insecure, else proxmox_provider.pm_tls_insecure). */
export function proxmoxInsecure(d: DefaultsFile): boolean {
  return d.proxmox?.insecure ?? d.proxmox_provider?.pm_tls_insecure ?? false;
}

/**
 * The installer ISO a boot_method iso host gets: images.<os>.<version>.iso_url (an asset-relative entry as pxed
 * serves it under http.public_url, else its source.iso), else image_catalog.<os>_iso_url.
 */
export function isoUrl(d: DefaultsFile, host: HostSpec): string | null {
  if (host.image?.os === 'ubuntu') {
    const iso = host.image.iso_url;
    if (/^https?:\/\//.test(iso)) return iso;
    const pub = d.http?.public_url;
    return pub !== undefined ? `${pub.replace(/\/+$/, '')}/assets/${iso}` : (d.images.ubuntu?.[host.image.version]?.source?.iso ?? null);
  }
  if (host.install.os === 'ubuntu') return d.image_catalog?.ubuntu_iso_url ?? null;
  if (host.install.os === 'nixos') return d.image_catalog?.nixos_iso_url ?? null;
  return null;
}

/** The cloud image a boot_method image host's disk is imported from (image_catalog.ubuntu_image_url). */
export function cloudImageUrl(d: DefaultsFile, host: HostSpec): string | null {
  return host.install.os === 'ubuntu' ? (d.image_catalog?.ubuntu_image_url ?? null) : null;
}

/** ssh arguments for Ansible: ansible.ssh_common_args, else ansible_defaults.ssh_common_args. */
export function ansibleSshArgs(d: DefaultsFile): string | null {
  return d.ansible?.ssh_common_args ?? d.ansible_defaults?.ssh_common_args ?? null;
}

interface Sources {
  defaults: YamlSource;
  vmSpecs: YamlSource;
  installConfig: YamlSource;
}

/** Notes on how original keys and derived values were read; positions point at the key each is about. */
export function originalNotes(src: Sources, d: DefaultsFile, hosts: readonly HostSpec[]): ConfigIssue[] {
  const notes: ConfigIssue[] = [];
  const D = (p: PathSeg[], m: string) => src.defaults.has(p) && notes.push(src.defaults.issue(p, m, true));
  D(['terraform_backend'], 'passed to Terraform as the backend block of every host root ({} = local state in build/<host>/tf)');
  D(['image_catalog', 'ubuntu_iso_url'], 'the ISO attached to boot_method iso Ubuntu VMs (images.ubuntu.<version>.iso_url wins when given)');
  D(['image_catalog', 'ubuntu_image_url'], 'the cloud image boot_method image Ubuntu VMs import as their disk');
  D(['image_catalog', 'nixos_iso_url'], 'the ISO attached to boot_method iso NixOS VMs');
  if (d.proxmox_provider) {
    const wins = d.proxmox?.endpoint ? `; proxmox.endpoint ${d.proxmox.endpoint} is given and wins` : '';
    D(['proxmox_provider', 'pm_api_url'], `read as the bpg provider endpoint ${endpointFromApiUrl(d.proxmox_provider.pm_api_url)}${wins}`);
  }
  if (d.ansible_defaults?.ssh_common_args !== undefined) {
    const wins = d.ansible?.ssh_common_args !== undefined ? '; ansible.ssh_common_args is given and wins' : '';
    D(['ansible_defaults', 'ssh_common_args'], `read as ansible.ssh_common_args${wins}`);
  }
  for (const k of ['tftp_root', 'http_root']) {
    D(['pxe', k], 'read and not used: pxed serves TFTP and HTTP from its own roots (pxed.yaml tftp.roots, http.asset_roots)');
  }
  const rawVms = isPlainObject(src.vmSpecs.data) && Array.isArray(src.vmSpecs.data.vms) ? (src.vmSpecs.data.vms as unknown[]) : [];
  const rawInst = isPlainObject(src.installConfig.data) && isPlainObject(src.installConfig.data.installs) ? src.installConfig.data.installs : {};
  for (const host of hosts) {
    const i = rawVms.findIndex((v) => isPlainObject(v) && v.name === host.name);
    const raw = (rawVms[i] ?? {}) as Record<string, unknown>;
    const V = (p: PathSeg[], m: string) => notes.push(src.vmSpecs.issue(['vms', i, ...p], m, src.vmSpecs.has(['vms', i, ...p])));
    if (raw.hypervisor === undefined) V(['name'], `${host.name}: no hypervisor given; the original's default proxmox`);
    if (raw.boot_method === undefined) V(['name'], `${host.name}: no boot_method given; the original's default iso`);
    const rawNics = Array.isArray(raw.netifs) ? (raw.netifs as unknown[]) : [];
    rawNics.forEach((n, j) => {
      if (isPlainObject(n) && n.vlan === null) V(['netifs', j, 'vlan'], 'null read as no VLAN (untagged)');
      if (isPlainObject(n) && n.mtu === null) V(['netifs', j, 'mtu'], "null read as the bridge's MTU");
    });
    host.netifs.forEach((n, j) => {
      if (host.hypervisor === 'proxmox' && n.mac === derivedMac(host.name, j)) {
        V(['netifs', j], `${host.name} NIC ${j}: no MAC given; ${n.mac} derived from the host name (stable, locally administered)`);
      }
    });
    const bm = isPlainObject(raw.baremetal) ? raw.baremetal : {};
    if (bm.ipmi_host !== undefined) V(['baremetal', 'ipmi_host'], 'read as the BMC address; power is not driven yet: the os stage asks the operator to power on');
    if (bm.ipmi_pass !== undefined) V(['baremetal', 'ipmi_pass'], 'an inline BMC password: read, never logged; prefer baremetal.ipmi.password_env');
    for (const k of Object.keys(bm)) {
      if (!['mac', 'ipmi', 'ipmi_host', 'ipmi_user', 'ipmi_pass'].includes(k)) V(['baremetal', k], `kept as free-form data, not used by pxed`);
    }
    const entry = rawInst[host.name];
    const ifaces = isPlainObject(entry) && isPlainObject(entry.network) && Array.isArray(entry.network.interfaces) ? entry.network.interfaces : [];
    ifaces.forEach((x, k) => {
      if (isPlainObject(x)) {
        notes.push(
          src.installConfig.issue(
            ['installs', host.name, 'network', 'interfaces', k],
            `NetIfSpec object (the original's form) read as NIC ${k}: fills netifs[${k}] where the VM leaves bridge/vlan/mac/model/mtu open; the installed system matches it by MAC`,
          ),
        );
      }
    });
    if (host.boot_method === 'pxe' && host.image === null && host.install.os !== 'custom' && !src.defaults.has(['images'])) {
      notes.push(
        src.vmSpecs.issue(
          ['vms', i, 'boot_method'],
          `${host.name}: boot_method pxe needs images.${host.install.os}."${host.install.version}" (kernel_url, initrd_url, ...) in ${src.defaults.file} before pxed can netboot it; the original's image_catalog has ISO URLs only`,
          true,
        ),
      );
    }
  }
  const order = [src.defaults.file, src.vmSpecs.file, src.installConfig.file];
  return notes.sort((a, b) => order.indexOf(a.file) - order.indexOf(b.file) || a.line - b.line || a.col - b.col);
}
