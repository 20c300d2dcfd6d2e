// `pxed doctor`: checks that explain why a machine would not boot, each with the fix. Pure reads: nothing is bound,
// written or started (the registry is opened only when its file exists, which applies pending migrations exactly
// as the daemon's start would).

import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveServerAddress, type DaemonConfig, type NetworkInterfaces } from '../config/daemon.js';
import { loadProvisioning } from '../config/load.js';
import { assetChecks } from '../assets/doctor.js';
import { describeError } from '../errors.js';
import { SCHEMA_VERSION, openRegistry } from '../registry/sqlite.js';
import { lanChecks, type DhcpProbe } from './lan.js';
import { canBindLowPorts, portHolders, type PortHolder } from './ports.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  id: string;
  status: CheckStatus;
  summary: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface DoctorInput {
  config: Readonly<DaemonConfig>;
  env: NodeJS.ProcessEnv;
  /** Sends the LAN probe (lan.ts); null skips it (--no-lan). */
  probe?: DhcpProbe | null;
  /** How long the probe collects answers (default 3500 ms). */
  lanWaitMs?: number;
  interfaces?: NetworkInterfaces;
  procRoot?: string;
}

/** iPXE binaries pxed chains to (Debian's `ipxe` package puts them in /usr/lib/ipxe). */
export const IPXE_BINARIES = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'];

const check = (id: string, status: CheckStatus, summary: string, fix?: string): Check => ({ id, status, summary, ...(fix !== undefined ? { fix } : {}) });

function interfaceCheck(cfg: Readonly<DaemonConfig>, interfaces: NetworkInterfaces): Check {
  try {
    const r = resolveServerAddress(cfg.server, interfaces);
    if (cfg.server.address !== undefined) {
      const owner = Object.entries(interfaces).find(([, a]) => (a ?? []).some((x) => x.address === cfg.server.address));
      if (owner === undefined) {
        return check('interface', 'fail', `no interface has server.address ${cfg.server.address}`, `add the address to the provisioning interface, or correct server.address`);
      }
      if (cfg.server.interface !== undefined && owner[0] !== cfg.server.interface) {
        return check('interface', 'fail', `${cfg.server.address} is on ${owner[0]}, not on server.interface ${cfg.server.interface}`, 'make server.interface and server.address agree');
      }
      return check('interface', 'ok', `${owner[0]} has ${cfg.server.address}`);
    }
    if (cfg.server.interface === undefined) {
      return check('interface', 'warn', `server address ${r.address}: ${r.reason}`, 'set server.interface to the provisioning interface');
    }
    return check('interface', 'ok', `${r.interface} has ${r.address}`);
  } catch (err) {
    return check('interface', 'fail', describeError(err), `check the interface name (ip -br addr) and set server.interface/server.address`);
  }
}

function describeHolder(h: PortHolder): string {
  return h.pid === null ? `inode ${h.inode} (owner not visible: run doctor as root)` : `${h.command} (pid ${h.pid})`;
}

function portChecks(cfg: Readonly<DaemonConfig>, procRoot: string): Check[] {
  const wanted: [string, 'tcp' | 'udp', number][] = [['http', 'tcp', cfg.http.port]];
  if (cfg.tftp.enabled) wanted.push(['tftp', 'udp', cfg.tftp.port]);
  if (cfg.dhcp.enabled) {
    wanted.push(['dhcp', 'udp', cfg.dhcp.port]);
    if (cfg.dhcp.boot_server_port !== null) wanted.push(['pxe-boot-server', 'udp', cfg.dhcp.boot_server_port]);
  }
  const out: Check[] = [];
  for (const [what, proto, port] of wanted) {
    const holders = portHolders(proto, port, procRoot);
    const id = `port-${what}`;
    if (holders.length === 0) out.push(check(id, 'ok', `${proto}/${port} (${what}) is free`));
    else if (holders.every((h) => h.command === 'node' || h.command === 'pxed')) {
      out.push(check(id, 'warn', `${proto}/${port} (${what}) is bound by ${holders.map(describeHolder).join(', ')}: pxed already running?`, 'systemctl status pxed; stop the other instance'));
    } else {
      const names = [...new Set(holders.map((h) => h.command ?? 'unknown'))];
      out.push(
        check(id, 'fail', `${proto}/${port} (${what}) is bound by ${holders.map(describeHolder).join(', ')}`, `stop or reconfigure ${names.join(', ')} (e.g. systemctl disable --now ${names[0]}), or move pxed's port`),
      );
    }
  }
  const low = wanted.filter(([, , p]) => p > 0 && p < 1024).map(([w, pr, p]) => `${pr}/${p} (${w})`);
  if (low.length > 0) {
    out.push(
      canBindLowPorts(procRoot)
        ? check('low-ports', 'ok', `may bind ${low.join(', ')}`)
        : check('low-ports', 'fail', `cannot bind ${low.join(', ')}: no CAP_NET_BIND_SERVICE`, 'run pxed as a service (`pxed service install` grants the capability) or as root'),
    );
  }
  return out;
}

function tftpChecks(cfg: Readonly<DaemonConfig>): Check[] {
  const out: Check[] = [];
  const found = new Set<string>();
  for (const root of cfg.tftp.roots) {
    try {
      accessSync(root, constants.R_OK | constants.X_OK);
      for (const f of readdirSync(root)) if (IPXE_BINARIES.includes(f)) found.add(f);
      out.push(check(`tftp-root:${root}`, 'ok', `${root} is readable`));
    } catch (err) {
      out.push(check(`tftp-root:${root}`, 'fail', `${root}: ${(err as Error).message}`, `create ${root} or remove it from tftp.roots`));
    }
  }
  const missing = IPXE_BINARIES.filter((b) => !found.has(b));
  out.push(
    missing.length === 0
      ? check('ipxe-binaries', 'ok', `${IPXE_BINARIES.join(', ')} found`)
      : check('ipxe-binaries', 'fail', `missing from every TFTP root: ${missing.join(', ')}`, 'apt install ipxe (and keep /usr/lib/ipxe in tftp.roots)'),
  );
  return out;
}

function assetRootChecks(cfg: Readonly<DaemonConfig>): Check[] {
  if (cfg.http.asset_roots.length === 0) {
    return [check('asset-roots', 'warn', 'no http.asset_roots: kernels and initrds must come from the catalog URLs', 'set http.asset_roots, then pxed assets fetch')];
  }
  return cfg.http.asset_roots.map((root) => {
    try {
      accessSync(root, constants.R_OK | constants.X_OK);
      return check(`asset-root:${root}`, 'ok', `${root} is readable`);
    } catch (err) {
      return check(`asset-root:${root}`, 'fail', `${root}: ${(err as Error).message}`, `mkdir -p ${root}, then pxed assets fetch`);
    }
  });
}

function registryCheck(cfg: Readonly<DaemonConfig>): Check {
  const db = cfg.registry.database;
  if (!existsSync(db)) {
    const dir = path.dirname(db);
    try {
      accessSync(existsSync(dir) ? dir : path.dirname(dir), constants.W_OK);
      return check('registry', 'ok', `${db} does not exist yet; it is created at first start`);
    } catch {
      return check('registry', 'fail', `${db} does not exist and ${dir} is not writable`, `mkdir -p ${dir} and make it writable for pxed`);
    }
  }
  try {
    accessSync(db, constants.R_OK | constants.W_OK);
  } catch {
    return check('registry', 'fail', `${db} is not writable by this user`, 'run doctor as the service user or root; fix the owner of the file');
  }
  try {
    const reg = openRegistry(db);
    try {
      const integrity = reg.integrityCheck();
      if (integrity !== 'ok') return check('registry', 'fail', `${db}: integrity check: ${integrity.split('\n')[0]}`, 'restore the registry from a backup');
      return check('registry', 'ok', `${db}: schema ${SCHEMA_VERSION}, integrity ok, ${reg.machineList({}).length} machines`);
    } finally {
      reg.close();
    }
  } catch (err) {
    return check('registry', 'fail', `${db}: ${describeError(err)}`, 'check the file (sqlite3 FILE "PRAGMA integrity_check") or move it away');
  }
}

function adminTokenCheck(cfg: Readonly<DaemonConfig>, env: NodeJS.ProcessEnv): Check {
  if (cfg.admin.token_env !== undefined) {
    return env[cfg.admin.token_env]?.trim()
      ? check('admin-token', 'ok', `taken from $${cfg.admin.token_env}`)
      : check('admin-token', 'warn', `$${cfg.admin.token_env} is empty here: /api/v1 answers 401`, `set ${cfg.admin.token_env} in the service environment`);
  }
  const file = cfg.admin.token_file!;
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return check('admin-token', 'ok', `${file} does not exist yet; a random token is written there (0600) at first start`);
  }
  if ((mode & 0o077) !== 0) return check('admin-token', 'fail', `${file} is readable by others (mode ${(mode & 0o777).toString(8)})`, `chmod 600 ${file}`);
  return check('admin-token', 'ok', `${file} is private (mode ${(mode & 0o777).toString(8)})`);
}

export async function runDoctor(input: DoctorInput): Promise<Check[]> {
  const cfg = input.config;
  const procRoot = input.procRoot ?? '/proc';
  const interfaces = input.interfaces ?? os.networkInterfaces();
  const checks: Check[] = [interfaceCheck(cfg, interfaces)];
  if (input.probe != null) {
    let address: string | null = null;
    try {
      address = resolveServerAddress(cfg.server, interfaces).address;
    } catch {
      checks.push(check('lan', 'warn', 'no server address to probe the LAN from', 'fix the interface check first'));
    }
    if (address !== null) checks.push(...(await lanChecks(cfg, address, input.probe, input.lanWaitMs)));
  }
  checks.push(...portChecks(cfg, procRoot), ...tftpChecks(cfg), ...assetRootChecks(cfg), registryCheck(cfg), adminTokenCheck(cfg, input.env));
  try {
    const p = await loadProvisioning({ defaults: cfg.provisioning.defaults, vmSpecs: cfg.provisioning.vm_specs, installConfig: cfg.provisioning.install_config });
    checks.push(check('provisioning', 'ok', `${p.hosts.length} hosts in ${cfg.provisioning.install_config}`));
    // Every catalog file a boot loads from pxed (src/assets/doctor.ts): missing fails, unverified warns.
    const self = cfg.server.address !== undefined ? [`http://${cfg.server.address}:${cfg.http.port}`] : [];
    if (p.defaults.http?.public_url !== undefined) self.push(p.defaults.http.public_url);
    checks.push(...(await assetChecks(p.defaults.images, cfg.http.asset_roots, self)));
  } catch (err) {
    checks.push(check('provisioning', 'fail', describeError(err), 'pxed config check shows every error with file:line:col'));
  }
  return checks;
}
