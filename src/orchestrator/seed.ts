// cloud-init inputs for the boot methods that do not netboot (README: Provision Proxmox VMs):
// - iso: the Ubuntu installer ISO plus a NoCloud seed ISO (volume id `cidata`; files user-data, meta-data and, for a
//   static address, network-config) built with xorriso. user-data is the very document the PXE path serves
//   (renderUserData: generated as an object, parsed back and validated); only the token in its URLs differs.
// - image: a clone of a cloud-image template (or an imported cloud image) configured by cloud-init on first boot:
//   the target section of the same generated document (host name, FQDN, users, SSH password policy) with every
//   user created by cloud-init, the packages, and a phone-home to pxed once cloud-init is done.
// The installer / first boot phones home with the token of the boot pxed armed for the host, so the `os` stage
// sees `installed` exactly as for a netboot.

import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WriteStream } from 'node:fs';
import type { HostSpec } from '../config/provisioning.js';
import { PxedError } from '../errors.js';
import { installContext, type InstallContext } from '../boot/os-profile.js';
import { planNetwork } from '../boot/os/network.js';
import { shCommand } from '../boot/os/shell.js';
import { cloudConfigText, cloudInitUser, dockerScript, netplan, renderMetaData, renderUserData, userDataObject } from '../boot/os/ubuntu.js';
import { toYaml } from '../boot/os/yaml.js';
import { runLogged } from './exec.js';
import type { SeedArm } from './types.js';

export interface SeedDocuments {
  userData: string;
  metaData: string;
  /** cloud-init network config v2 (netplan form), only when the host has a static address. */
  networkConfig: string | null;
}

/**
 * The generator insists on the host's netboot catalog entry (a netboot needs its kernel and initrd); a seed boots
 * the attached ISO or cloud image instead and renders nothing from the entry, so one absent from the catalog (the
 * original framework's files have only image_catalog URLs) is stood in for.
 */
function seedHost(host: HostSpec): HostSpec {
  if (host.image?.os === 'ubuntu') return host;
  return { ...host, image: { os: 'ubuntu', version: host.install.version ?? 'seed', iso_url: '', kernel_url: '', initrd_url: '', codename: null } };
}

function context(host: HostSpec, mac: string, arm: SeedArm): InstallContext {
  return installContext(arm.serverUrl.replace(/\/+$/, ''), arm.token, mac, host.install.network.hostname);
}

/** Refuses what the non-netboot methods cannot install: they are Ubuntu (cloud-init) only. */
export function checkSeedable(host: HostSpec): void {
  if (host.install.os !== 'ubuntu') {
    throw new PxedError('CONFIG_INVALID', `${host.name}: boot_method ${host.boot_method} needs cloud-init, which only the Ubuntu entries use; install ${host.install.os} with boot_method pxe`);
  }
}

function networkConfig(host: HostSpec, mac: string): string | null {
  if (host.install.network.dhcp) return null;
  return toYaml(netplan(planNetwork(host, mac)));
}

/** The NoCloud seed of a boot_method iso host: the PXE path's autoinstall user-data and meta-data. */
export function isoSeedDocuments(host: HostSpec, mac: string, arm: SeedArm): SeedDocuments {
  checkSeedable(host);
  const ctx = context(host, mac, arm);
  return { userData: renderUserData(seedHost(host), ctx), metaData: renderMetaData(host, ctx), networkConfig: networkConfig(host, mac) };
}

/** The cloud-config of a boot_method image host (uploaded as a snippet) and its network config (second snippet). */
export function imageSeedDocuments(host: HostSpec, mac: string, arm: SeedArm): SeedDocuments {
  checkSeedable(host);
  const ctx = context(host, mac, arm);
  const ai = userDataObject(seedHost(host), ctx).autoinstall as Record<string, unknown>;
  const target = { ...(ai['user-data'] as Record<string, unknown>) };
  const inst = host.install;
  // A cloud image has no Subiquity to create the identity user: cloud-init creates every user.
  target.users = inst.users.map((u) => cloudInitUser(u, inst.docker));
  if (inst.packages.length > 0) target.packages = [...inst.packages];
  const runcmd: string[][] = [];
  if (inst.docker) runcmd.push(['sh', '-c', dockerScript()]);
  const body = JSON.stringify({ status: 'installed', detail: 'cloud-init first boot done' });
  runcmd.push(['sh', '-c', `${shCommand(['curl', '-fsS', '--retry', '5', '--max-time', '20', '-X', 'POST', '-H', 'Content-Type: application/json', '--data', body, ctx.phoneHomeUrl])} || true`]);
  target.runcmd = runcmd;
  return { userData: cloudConfigText(target), metaData: renderMetaData(host, ctx), networkConfig: networkConfig(host, mac) };
}

export interface SeedIsoOptions {
  log: WriteStream;
  redact: (t: string) => string;
  signal: AbortSignal;
  env: Record<string, string | undefined>;
  /** Default `xorriso` from PATH (Debian package xorriso). */
  xorriso?: string;
}

/**
 * Writes the seed's files into `<iso>.d/` and builds `iso` from them: ISO 9660 with Rock Ridge and Joliet, volume
 * id `cidata` (the label cloud-init's NoCloud datasource looks for). Throws ORCH_SEED when xorriso fails.
 */
export async function buildSeedIso(iso: string, docs: SeedDocuments, o: SeedIsoOptions): Promise<void> {
  const dir = `${iso}.d`;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files: Array<[string, string]> = [
    ['user-data', docs.userData],
    ['meta-data', docs.metaData],
  ];
  if (docs.networkConfig !== null) files.push(['network-config', docs.networkConfig]);
  for (const [name, text] of files) await writeFile(path.join(dir, name), text, { mode: 0o600 });
  await rm(iso, { force: true });
  const args = ['-as', 'mkisofs', '-quiet', '-output', iso, '-volid', 'cidata', '-joliet', '-rational-rock', ...files.map(([n]) => path.join(dir, n))];
  const r = await runLogged(o.xorriso ?? 'xorriso', args, { cwd: path.dirname(iso), env: { PATH: o.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, log: o.log, redact: o.redact, signal: o.signal });
  await rm(dir, { recursive: true, force: true });
  if (r.cancelled) throw new PxedError('ORCH_SEED', 'building the cidata seed ISO was cancelled');
  if (r.exitCode !== 0) throw new PxedError('ORCH_SEED', `xorriso exited ${String(r.exitCode)} building ${iso}${r.tail.length > 0 ? `: ${r.tail[r.tail.length - 1]}` : ' (is the xorriso package installed?)'}`);
  await chmod(iso, 0o600); // user-data names users, keys and password hashes
}
