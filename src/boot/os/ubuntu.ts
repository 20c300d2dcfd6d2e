// Ubuntu live-server autoinstall over the network (22.04, 24.04): the iPXE install boot (casper kernel/initrd of the
// ISO's release, the ISO fetched into RAM by url=) and the NoCloud documents under /nocloud/<token>/.
// Facts: docs/os-install.md §1 (cmdline), §2 (autoinstall keys, reporting), §3 (NoCloud files).
// user-data is built as a plain object, serialised with `yaml`, parsed back and validated before it is returned.

import { createHash } from 'node:crypto';
import type { HostSpec } from '../../config/provisioning.js';
import type { InstallBoot, InstallContext } from '../os-profile.js';
import type { HttpDocument } from '../types.js';
import { assetUrl } from '../scripts.js';
import { checkContext, checkHost, imageFor, invalid } from './context.js';
import { planNetwork, type LinkPlan, type NetworkPlan } from './network.js';
import { shCommand } from './shell.js';
import { validateUserData } from './validate.js';
import { parseYaml11, toYaml } from './yaml.js';

export const YAML_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** Docker's official apt repository (docs.docker.com/engine/install/ubuntu). */
export const DOCKER_APT_REPO = 'https://download.docker.com/linux/ubuntu';
export const DOCKER_PACKAGES = ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-buildx-plugin', 'docker-compose-plugin'] as const;

export interface UbuntuOptions {
  /** Extra kernel arguments for every Ubuntu install (console=ttyS0,115200n8, ...). Placed after `---`, so curtin
   *  carries them into the installed system's GRUB command line. */
  extraArgs?: readonly string[];
}

/** [major, minor] of an Ubuntu release like "24.04" or "22.04.5"; ARTIFACT_INVALID otherwise. */
export function ubuntuRelease(version: string): [number, number] {
  const m = /^(\d{2})\.(\d{2})(\.\d+)?$/.exec(version);
  if (!m) throw invalid('install.version', `expected an Ubuntu release like "24.04", got ${JSON.stringify(version)}`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * The NoCloud `ds=` token. `ds=nocloud;s=http://` picks network mode from the URL scheme only since cloud-init 23.2,
 * so 22.04 ISOs (older cloud-init) get the deprecated-but-honoured `nocloud-net` (docs/os-install.md §1.3).
 */
export function nocloudDsArg(version: string, seedUrl: string): string {
  const [major] = ubuntuRelease(version);
  return `ds=${major >= 24 ? 'nocloud' : 'nocloud-net'};s=${seedUrl}`;
}

const KERNEL_ARG = /^[\x21-\x7e]+$/;

export function ubuntuInstall(host: HostSpec, ctx: InstallContext, opts: UbuntuOptions = {}): InstallBoot {
  checkContext(ctx);
  const image = imageFor(host, 'ubuntu');
  const extra = opts.extraArgs ?? [];
  extra.forEach((a, i) => {
    if (!KERNEL_ARG.test(a)) throw invalid(`extraArgs[${i}]`, `expected one printable kernel argument without spaces, got ${JSON.stringify(a)}`);
  });
  // `autoinstall` skips Subiquity's confirmation prompt; cloud-config-url=/dev/null keeps cloud-init from fetching
  // the ISO a second time; everything before `---` stays out of the installed system's cmdline (curtin carryover).
  const args = [
    'ip=dhcp',
    // An asset-relative ISO is served by pxed itself: casper needs the absolute URL of this boot's server.
    `url=${assetUrl(ctx.serverUrl, image.iso_url)}`,
    'cloud-config-url=/dev/null',
    'autoinstall',
    nocloudDsArg(image.version, ctx.nocloudUrl),
    '---',
    ...extra,
  ];
  return { kernel: image.kernel_url, initrds: [image.initrd_url], cmdline: args.join(' ') };
}

// ---------------------------------------------------------------------------------------------------------------
// user-data

type Obj = Record<string, unknown>;

function netplanLink(link: LinkPlan, plan: NetworkPlan): Obj {
  const out: Obj = {};
  if (link.kind === 'vlan' && link.vlan !== null) {
    out.id = link.vlan.id;
    out.link = link.vlan.link;
  }
  if (link.match !== null && 'macaddress' in link.match) out.match = { macaddress: link.match.macaddress };
  if (link.mtu !== null) out.mtu = link.mtu;
  if (link.addressing === 'primary') {
    if (plan.dhcp) {
      out.dhcp4 = true;
    } else {
      out.dhcp4 = false;
      out.addresses = [plan.addressCidr];
      // netplan's gateway4 is deprecated; a default route is the replacement.
      if (plan.gateway !== null) out.routes = [{ to: 'default', via: plan.gateway }];
    }
    const ns: Obj = {};
    if (plan.nameservers.length > 0) ns.addresses = plan.nameservers;
    if (plan.search.length > 0) ns.search = plan.search;
    if (Object.keys(ns).length > 0) out.nameservers = ns;
  } else if (link.addressing === 'dhcp-optional') {
    out.dhcp4 = true;
    out.optional = true;
  } else {
    out.dhcp4 = false;
  }
  return out;
}

/** Netplan v2 (the `autoinstall.network` mapping; applied in the installer and written to the target). */
export function netplan(plan: NetworkPlan): Obj {
  const ethernets: Obj = {};
  const vlans: Obj = {};
  for (const link of plan.links) (link.kind === 'vlan' ? vlans : ethernets)[link.id] = netplanLink(link, plan);
  const out: Obj = { version: 2, ethernets };
  if (Object.keys(vlans).length > 0) out.vlans = vlans;
  return out;
}

function phoneHomeCommand(url: string, body: Obj): string {
  // Runs in the installer environment (it has curl). `|| true`: an unreachable pxed must not turn a finished
  // install into a failed one; the reporting webhook is the second signal.
  return `${shCommand(['curl', '-fsS', '--retry', '3', '--max-time', '20', '-X', 'POST', '-H', 'Content-Type: application/json', '--data', JSON.stringify(body), url])} || true`;
}

/** Installs Docker Engine from Docker's apt repository inside the target (the steps of Docker's Ubuntu guide). */
export function dockerScript(): string {
  return [
    'set -eu',
    'export DEBIAN_FRONTEND=noninteractive',
    'install -m 0755 -d /etc/apt/keyrings',
    `curl -fsSL ${DOCKER_APT_REPO}/gpg -o /etc/apt/keyrings/docker.asc`,
    'chmod a+r /etc/apt/keyrings/docker.asc',
    '. /etc/os-release',
    `echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] ${DOCKER_APT_REPO} $VERSION_CODENAME stable" > /etc/apt/sources.list.d/docker.list`,
    'apt-get update',
    `apt-get install -y ${DOCKER_PACKAGES.join(' ')}`,
  ].join('\n');
}

type User = HostSpec['install']['users'][number];

/** A cloud-init `users:` entry for the installed system. */
export function cloudInitUser(u: User, docker: boolean): Obj {
  const groups: string[] = [];
  const out: Obj = { name: u.username, shell: u.shell };
  if (u.password_hash !== null) {
    out.hashed_passwd = u.password_hash;
    out.lock_passwd = false;
    if (u.sudo) groups.push('sudo');
  } else {
    out.lock_passwd = true;
    // Without a password, sudo can only work without one.
    if (u.sudo) out.sudo = 'ALL=(ALL) NOPASSWD:ALL';
  }
  if (docker) groups.push('docker');
  if (groups.length > 0) out.groups = groups;
  if (u.ssh_authorized_keys.length > 0) out.ssh_authorized_keys = [...u.ssh_authorized_keys];
  return out;
}

/**
 * The identity user (created by Subiquity during the install) is the first user when it has a password hash, sudo
 * (Subiquity always makes it an admin) and /bin/bash; every other user is created by cloud-init on first boot from
 * autoinstall.user-data.users.
 */
function splitUsers(users: readonly User[]): { identity: User | null; others: User[] } {
  const [first, ...rest] = users;
  if (first !== undefined && first.password_hash !== null && first.sudo && first.shell === '/bin/bash') return { identity: first, others: rest };
  return { identity: null, others: [...users] };
}

/** The user-data document as an object (before serialisation). Pure. */
export function userDataObject(host: HostSpec, ctx: InstallContext): Obj {
  checkContext(ctx);
  imageFor(host, 'ubuntu');
  checkHost(host);
  const inst = host.install;
  const net = inst.network;
  const { identity, others } = splitUsers(inst.users);
  const anyKeys = inst.users.some((u) => u.ssh_authorized_keys.length > 0);

  const ai: Obj = { version: 1 };
  if (identity !== null) {
    ai.identity = { hostname: net.hostname, username: identity.username, password: identity.password_hash };
  }
  const ssh: Obj = { 'install-server': true, 'allow-pw': !anyKeys };
  if (identity !== null && identity.ssh_authorized_keys.length > 0) ssh['authorized-keys'] = [...identity.ssh_authorized_keys];
  ai.ssh = ssh;

  const part = inst.partitioning;
  const storage: Obj = { layout: { name: part.layout, match: part.disk !== null ? { path: part.disk } : { size: 'largest' } } };
  if (part.swap_mb !== null) storage.swap = { size: part.swap_mb === 0 ? 0 : `${part.swap_mb}M` };
  ai.storage = storage;

  ai.network = netplan(planNetwork(host, ctx.mac));
  if (inst.packages.length > 0) ai.packages = [...inst.packages];

  const late: Array<string | string[]> = [];
  if (inst.docker) {
    late.push(['curtin', 'in-target', '--target=/target', '--', 'sh', '-c', dockerScript()]);
    if (identity !== null) late.push(['curtin', 'in-target', '--target=/target', '--', 'usermod', '-aG', 'docker', identity.username]);
  }
  late.push(phoneHomeCommand(ctx.phoneHomeUrl, { status: 'installed', detail: 'autoinstall late-commands done' }));
  ai['late-commands'] = late;
  ai['error-commands'] = [phoneHomeCommand(ctx.phoneHomeUrl, { status: 'failed', detail: 'autoinstall failed (error-commands); logs in /var/log/installer' })];
  ai.reporting = { pxed: { type: 'webhook', endpoint: ctx.eventsUrl } };

  const target: Obj = { hostname: net.hostname };
  if (net.domain !== null) target.fqdn = `${net.hostname}.${net.domain}`;
  target.ssh_pwauth = !anyKeys;
  if (others.length > 0) target.users = others.map((u) => cloudInitUser(u, inst.docker));
  ai['user-data'] = target;
  ai.shutdown = 'reboot';
  return { autoinstall: ai };
}

/** Serialises a cloud-config object: `#cloud-config` header, block style, no line folding (stable output). */
export function cloudConfigText(doc: Obj): string {
  return `#cloud-config\n${toYaml(doc)}`;
}

/** The served user-data: rendered, parsed back and validated (what is validated is exactly what is served). */
export function renderUserData(host: HostSpec, ctx: InstallContext): string {
  const text = cloudConfigText(userDataObject(host, ctx));
  validateUserData(parseYaml11(text));
  return text;
}

/** instance-id changes with every boot token, so each install is a first boot; the token itself is not exposed. */
export function instanceId(ctx: InstallContext): string {
  return `pxed-${ctx.mac.replace(/:/g, '')}-${createHash('sha256').update(ctx.token).digest('hex').slice(0, 12)}`;
}

export function renderMetaData(host: HostSpec, ctx: InstallContext): string {
  checkContext(ctx);
  return toYaml({ 'instance-id': instanceId(ctx), 'local-hostname': host.install.network.hostname });
}

/**
 * NoCloud documents by name. vendor-data and network-config are optional for NoCloud (a 404 is only logged at debug,
 * docs/os-install.md §3) and pxed does not use them: the installer's network comes from `ip=dhcp`, the target's from
 * autoinstall.network. They return null (→ 404), as does any other name.
 */
export function ubuntuArtifact(family: string, name: string, host: HostSpec, ctx: InstallContext): HttpDocument | null {
  if (family !== 'nocloud') return null;
  if (name === 'user-data') return { contentType: YAML_CONTENT_TYPE, body: renderUserData(host, ctx) };
  if (name === 'meta-data') return { contentType: YAML_CONTENT_TYPE, body: renderMetaData(host, ctx) };
  return null;
}
