// SIGHUP reload, the pure parts: which changed settings need a restart, and what changed among the hosts. The
// daemon re-reads pxed.yaml and the provisioning files, and App.reload (app.ts) swaps in the new frozen snapshot.
//
// Applied at once: the provisioning files (hosts, images catalog, defaults), `policy.*`, `dhcp.uefi_strategy`,
// `post_install.hosts` / `timezone` / `ntp_servers` (the next post-install job reads them, and installed machines
// newly wanted are queued) and the provisioning paths themselves. Everything that is bound or opened at start
// (server.*, ports, TFTP roots, asset roots, limits, registry, admin token, post_install.concurrency / build_dir /
// state_dir, log level) keeps its old value until the next restart:
// the reload says which of those changed. Sockets are never touched, so running TFTP transfers and HTTP downloads
// go on.

import type { DaemonConfig } from '../config/daemon.js';
import { formatIssue, loadDaemonConfig, loadProvisioning, type ConfigIssue, type DaemonOverrides } from '../config/load.js';
import type { HostSpec, Provisioning } from '../config/provisioning.js';
import { describeError, isPxedError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SyncReport } from '../machines/operations.js';

/** Key paths (dotted) of pxed.yaml that take effect on reload; everything else waits for a restart. */
export const RELOADABLE_KEYS: readonly string[] = [
  'policy',
  'dhcp.uefi_strategy',
  'provisioning',
  'post_install.hosts',
  'post_install.timezone',
  'post_install.ntp_servers',
];

/** Dotted paths of the leaves that differ between `a` and `b` (arrays compare whole). */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedPaths(a[k], b[k], prefix === '' ? k : `${prefix}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

const reloadable = (p: string): boolean => RELOADABLE_KEYS.some((k) => p === k || p.startsWith(`${k}.`));

/** The changed settings that keep their old value until a restart. */
export function restartOnlyChanges(old: Readonly<DaemonConfig>, next: Readonly<DaemonConfig>): string[] {
  return changedPaths(old, next).filter((p) => !reloadable(p));
}

export interface HostChanges {
  added: string[];
  removed: string[];
  /** Entries whose merged spec differs (MAC, OS, network, users, ...). */
  changed: string[];
}

/** What changed among the install entries, by name. */
export function hostChanges(old: readonly HostSpec[], next: readonly HostSpec[]): HostChanges {
  const before = new Map(old.map((h) => [h.name, JSON.stringify(h)]));
  const after = new Map(next.map((h) => [h.name, JSON.stringify(h)]));
  return {
    added: [...after.keys()].filter((n) => !before.has(n)),
    removed: [...before.keys()].filter((n) => !after.has(n)),
    changed: [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n)),
  };
}

/** What one daemon reload is given: the new config and provisioning, both parsed and frozen. */
export interface ConfigSnapshot {
  readonly config: Readonly<DaemonConfig>;
  readonly provisioning: Readonly<Provisioning>;
}

/** What App.reload did. */
export interface ReloadReport {
  restartOnly: string[];
  hosts: HostChanges;
  sync: SyncReport;
  /** NixOS catalog versions without a local netboot.ipxe in the new catalog. */
  missingNetboot: string[];
}

export interface Reloadable {
  snapshot(): ConfigSnapshot;
  reload(next: ConfigSnapshot): Promise<ReloadReport>;
}

export interface ReloadSource {
  /** The daemon config file and the command-line overrides it was started with (they apply again). */
  configFile: string;
  overrides: DaemonOverrides;
}

/**
 * One SIGHUP: re-reads pxed.yaml and the provisioning files, then hands the new snapshot to the app. An invalid
 * config is refused with every file:line:col problem in the log and the old snapshot keeps serving. A provisioning
 * file read from standard input ("-") cannot be read twice: the old provisioning stays and the log says so.
 * Never throws; true when the new config took effect.
 */
export async function reloadFromFiles(app: Reloadable, src: ReloadSource, log: Logger): Promise<boolean> {
  const old = app.snapshot();
  let next: ConfigSnapshot;
  try {
    const config = loadDaemonConfig(src.configFile, src.overrides);
    const p = config.provisioning;
    const fromStdin = [p.defaults, p.vm_specs, p.install_config].includes('-');
    if (fromStdin) log.warn('reload: a provisioning file is standard input, which cannot be read again: keeping the provisioning from start');
    const provisioning = fromStdin ? old.provisioning : await loadProvisioning({ defaults: p.defaults, vmSpecs: p.vm_specs, installConfig: p.install_config });
    next = { config, provisioning };
  } catch (err) {
    const issues = isPxedError(err, 'CONFIG_INVALID') ? ((err.details as { issues?: ConfigIssue[] } | undefined)?.issues ?? []) : [];
    log.error('reload refused: the configuration is invalid; the previous one keeps serving', {
      err: describeError(err),
      ...(issues.length > 0 ? { issues: issues.map(formatIssue) } : {}),
    });
    return false;
  }
  let r: ReloadReport;
  try {
    r = await app.reload(next);
  } catch (err) {
    log.error('reload refused; the previous configuration keeps serving', { err: describeError(err) });
    return false;
  }
  const { hosts, sync } = r;
  log.info('configuration reloaded', {
    config: src.configFile,
    hosts: next.provisioning.hosts.length,
    added: hosts.added,
    removed: hosts.removed,
    changed: hosts.changed,
  });
  logSync(log, sync);
  if (r.restartOnly.length > 0) log.warn('reload: these settings changed but take effect only after a restart', { keys: r.restartOnly });
  for (const v of r.missingNetboot) log.warn('no local netboot.ipxe for a NixOS catalog version: installs of it fail until it is fetched', { version: v, fix: 'pxed assets fetch' });
  return true;
}

/** One log line per registry change the config sync made (start-up and reload). */
export function logSync(log: Logger, r: SyncReport): void {
  for (const mac of r.created) log.info('registry: registered configured host', { mac });
  for (const mac of r.renamed) log.info('registry: configured host now names this machine', { mac });
  for (const mac of r.modeChanged) log.info('registry: install mode changed by the config', { mac });
  for (const mac of r.removed) log.info('registry: removed a machine whose install entry left the config', { mac });
  for (const mac of r.orphaned) {
    log.warn('registry: machine kept although its install entry left the config (it has history); `pxed machines rm` deletes it', { mac });
  }
}
