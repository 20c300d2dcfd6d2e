// The post-install stage of one host: Ubuntu hosts get pxed's playbooks (ansible/playbooks/site.yml by default),
// NixOS hosts get their generated configuration applied with nixos-rebuild. Writes build/<host>/ansible/ and
// appends to build/<host>/logs/post.log (the paths are the caller's: see hostPaths). Never throws for a failing run: the outcome says what happened.
import path from 'node:path';
import type { HostSpec } from '../../config/provisioning.js';
import { describeError } from '../../errors.js';
import { shippedDir } from '../../shipped.js';
import { writeAnsibleWorkdir, type Connection } from './inventory.js';
import { runNixosRebuild } from './nixos.js';
import { runPlaybook, type HostStats, type TaskFailure } from './runner.js';
import { DEFAULT_SITE, postInstallVars, type SiteSettings } from './vars.js';

/** Where one host's post-install files go: build/<host>/ansible and build/<host>/logs/post.log. */
export interface PostInstallPaths {
  dir: string;
  logFile: string;
}

export function hostPaths(buildRoot: string, host: string): PostInstallPaths {
  return { dir: path.join(buildRoot, host, 'ansible'), logFile: path.join(buildRoot, host, 'logs', 'post.log') };
}

export interface PostInstallOptions {
  /** Writable state for Ansible's HOME/ANSIBLE_HOME/ANSIBLE_LOCAL_TEMP. */
  stateDir: string;
  /** The folder holding playbooks/ and roles/; default: the repository's ansible/. */
  ansibleDir?: string;
  /** Playbook to run for Debian-family hosts, relative to ansibleDir or absolute; default playbooks/site.yml. */
  playbook?: string;
  site?: SiteSettings;
  ansibleCommand?: string;
  nixosRebuildCommand?: string;
  /**
   * The generated configuration.nix of a NixOS host, written for this run (prepareNixosConfig); null: none, the
   * stage fails saying so.
   */
  nixosConfig?: (host: HostSpec, conn: Extract<Connection, { kind: 'ssh' }>, signal?: AbortSignal) => string | null | Promise<string | null>;
  env?: NodeJS.ProcessEnv;
}

export interface PostInstallOutcome {
  host: string;
  method: 'ansible' | 'nixos-rebuild' | 'none';
  ok: boolean;
  /** Ansible's stats for this host; null for nixos-rebuild or when Ansible never reported. */
  stats: HostStats | null;
  exitCode: number | null;
  aborted: boolean;
  failures: TaskFailure[];
  logPath: string;
  durationMs: number;
  /** One line for summaries and timeline events when ok is false. */
  error: string | null;
}

/** The repository's ansible/ folder (src/shipped.ts). */
export function defaultAnsibleDir(): string {
  return shippedDir('ansible', path.join('playbooks', 'post_config_common.yml'));
}

export async function runPostInstall(
  host: HostSpec,
  conn: Connection,
  where: PostInstallPaths,
  opts: PostInstallOptions,
  signal?: AbortSignal,
): Promise<PostInstallOutcome> {
  const t0 = Date.now();
  const logPath = where.logFile;
  const base = { host: host.name, stats: null, exitCode: null, aborted: false, failures: [], logPath };
  const fail = (method: PostInstallOutcome['method'], error: string): PostInstallOutcome => ({ ...base, method, ok: false, durationMs: Date.now() - t0, error });
  try {
    if (host.install.os === 'nixos') {
      if (conn.kind !== 'ssh') return fail('nixos-rebuild', `host ${host.name}: nixos-rebuild needs an ssh target`);
      const configFile = (await opts.nixosConfig?.(host, conn, signal)) ?? null;
      if (configFile === null) return fail('nixos-rebuild', `host ${host.name}: no generated NixOS configuration to apply`);
      const r = await runNixosRebuild({
        address: conn.address,
        user: conn.user,
        configFile,
        logPath,
        home: path.join(opts.stateDir, 'home'),
        ...(conn.sshCommonArgs !== undefined ? { sshOptions: conn.sshCommonArgs } : {}),
        ...(opts.nixosRebuildCommand !== undefined ? { command: opts.nixosRebuildCommand } : {}),
        ...(signal !== undefined ? { signal } : {}),
        ...(opts.env !== undefined ? { env: opts.env } : {}),
      });
      const ok = r.exitCode === 0 && !r.aborted;
      return { ...base, method: 'nixos-rebuild', ok, exitCode: r.exitCode, aborted: r.aborted, durationMs: Date.now() - t0, error: ok ? null : r.aborted ? 'aborted' : `nixos-rebuild exited ${String(r.exitCode)}` };
    }
    if (host.install.os !== 'ubuntu') return fail('none', `host ${host.name}: os ${host.install.os} has no post-install stage`);
    const work = writeAnsibleWorkdir(where.dir, host.name, conn, postInstallVars(host, opts.site ?? DEFAULT_SITE));
    const ansibleDir = opts.ansibleDir ?? defaultAnsibleDir();
    const r = await runPlaybook({
      playbook: path.resolve(ansibleDir, opts.playbook ?? 'playbooks/site.yml'),
      inventory: work.inventory,
      varsFile: work.vars,
      logPath,
      stateDir: opts.stateDir,
      rolesPath: path.join(ansibleDir, 'roles'),
      ...(opts.ansibleCommand !== undefined ? { command: opts.ansibleCommand } : {}),
      ...(signal !== undefined ? { signal } : {}),
      ...(opts.env !== undefined ? { env: opts.env } : {}),
    });
    const stats = r.stats[host.name] ?? null;
    const ok = !r.aborted && r.exitCode === 0 && stats !== null && stats.failed === 0 && stats.unreachable === 0;
    let error: string | null = null;
    if (!ok) {
      const first = r.failures[0];
      error = r.aborted
        ? 'aborted'
        : first !== undefined
          ? `task "${first.task}": ${first.msg}`
          : stats !== null && r.exitCode === 0
            ? `play recap: failed=${stats.failed} unreachable=${stats.unreachable}`
            : `ansible-playbook exited ${String(r.exitCode)}${r.stderrTail.length > 0 ? `: ${r.stderrTail[r.stderrTail.length - 1]}` : ''}`;
    }
    return { ...base, method: 'ansible', ok, stats, exitCode: r.exitCode, aborted: r.aborted, failures: r.failures, durationMs: r.durationMs, error };
  } catch (err) {
    return fail(host.install.os === 'nixos' ? 'nixos-rebuild' : 'ansible', describeError(err));
  }
}
