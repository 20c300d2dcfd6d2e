// NixOS post-config is declarative: the configuration pxed generated is the source of truth, applied to the
// installed machine with `nixos-rebuild switch --target-host`. The command is an argv (no shell): every value is
// validated so none can be read as an option (no leading "-") or carry whitespace.
import { appendFileSync, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { installContext, PREVIEW_TOKEN } from '../../boot/os-profile.js';
import { renderHostJson, type NixosTemplates } from '../../boot/os/nixos.js';
import type { HostSpec } from '../../config/provisioning.js';
import { PxedError } from '../../errors.js';

export interface NixosRebuild {
  /** IPv4 address or DNS name of the installed machine. */
  address: string;
  /** SSH user on the target; with useRemoteSudo it needs passwordless sudo (pxed's users with sudo: true). */
  user: string;
  /** Absolute path of the generated configuration.nix on the daemon's machine. */
  configFile: string;
  /** Default true: activate through sudo on the target instead of logging in as root. */
  useRemoteSudo?: boolean;
}

const ADDRESS = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/;
const POSIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SAFE_PATH = /^\/[A-Za-z0-9._+/@-]+$/;

/** The arguments after `nixos-rebuild`. Throws ORCH_NIXOS_INVALID on a value that could be misread. */
export function nixosRebuildArgv(o: NixosRebuild): string[] {
  if (!ADDRESS.test(o.address)) throw new PxedError('ORCH_NIXOS_INVALID', `target address ${JSON.stringify(o.address)} is not an IP address or DNS name`);
  if (!POSIX_USER.test(o.user)) throw new PxedError('ORCH_NIXOS_INVALID', `target user ${JSON.stringify(o.user)} is not a POSIX user name`);
  if (!SAFE_PATH.test(o.configFile) || o.configFile.split('/').includes('..')) {
    throw new PxedError('ORCH_NIXOS_INVALID', `configuration path ${JSON.stringify(o.configFile)}: expected an absolute path of letters, digits and ._+/@-`);
  }
  const argv = ['switch', '--target-host', `${o.user}@${o.address}`, '-I', `nixos-config=${o.configFile}`];
  if (o.useRemoteSudo !== false) argv.push('--use-remote-sudo');
  return argv;
}

export interface NixosRebuildRun extends NixosRebuild {
  logPath: string;
  signal?: AbortSignal;
  /** Default 'nixos-rebuild' from PATH. */
  command?: string;
  /** ssh options for the copy and activation (NIX_SSHOPTS), e.g. ansible_defaults.ssh_common_args. */
  sshOptions?: string;
  env?: NodeJS.ProcessEnv;
  /** HOME for the child (the daemon's state dir; the unit has ProtectHome=). */
  home: string;
}

/** Runs nixos-rebuild; resolves with its exit code (null when killed). Output goes to logPath. */
export async function runNixosRebuild(r: NixosRebuildRun): Promise<{ exitCode: number | null; aborted: boolean }> {
  const argv = nixosRebuildArgv(r);
  const src = r.env ?? process.env;
  mkdirSync(path.dirname(r.logPath), { recursive: true, mode: 0o700 });
  mkdirSync(r.home, { recursive: true, mode: 0o700 });
  const log = createWriteStream(r.logPath, { flags: 'a', mode: 0o600 });
  const command = r.command ?? 'nixos-rebuild';
  log.write(`# ${new Date().toISOString()} ${command} ${argv.join(' ')}\n`);
  const env: Record<string, string> = { PATH: src.PATH ?? '/usr/bin:/bin', HOME: r.home, LANG: 'C.UTF-8' };
  if (r.sshOptions !== undefined) env.NIX_SSHOPTS = r.sshOptions;
  if (src.SSH_AUTH_SOCK !== undefined) env.SSH_AUTH_SOCK = src.SSH_AUTH_SOCK;
  let aborted = false;
  const child = execa(command, argv, { env, extendEnv: false, stdin: 'ignore', reject: false, detached: true, all: true, buffer: false });
  const onAbort = (): void => {
    aborted = true;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  if (r.signal?.aborted) onAbort();
  else r.signal?.addEventListener('abort', onAbort, { once: true });
  child.all?.pipe(log, { end: false });
  try {
    const res = await child;
    if (res.exitCode === undefined && res.signal === undefined) throw new PxedError('ORCH_NIXOS_SPAWN', `${command}: ${res.message}`);
    log.write(`# exit ${String(res.exitCode ?? res.signal)}\n`);
    return { exitCode: res.exitCode ?? null, aborted };
  } finally {
    r.signal?.removeEventListener('abort', onAbort);
    await new Promise<void>((resolve) => log.end(resolve));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The configuration nixos-rebuild evaluates (on the daemon's machine): the static configuration.nix and the host.json
// pxed serves the installer (same generator), plus hardware-configuration.nix (and pxed-install.json, firmware and
// disk) read back from the installed machine, since configuration.nix imports them from beside itself.

export interface NixosConfigDir {
  host: HostSpec;
  /** The MAC the machine installed with (host.json's network links match it). */
  mac: string;
  /** build/<host>/nixos: written fresh each run. */
  dir: string;
  address: string;
  user: string;
  privateKeyFile?: string;
  /** ansible_defaults.ssh_common_args (whitespace-separated ssh options). */
  sshOptions?: string;
  templates: NixosTemplates;
  logPath: string;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  home: string;
  /** Default 'ssh' from PATH. */
  sshCommand?: string;
}

/** ssh argv that prints one file of the target's /etc/nixos (fixed names only: nothing user-supplied runs remotely). */
export function sshCatArgv(c: Pick<NixosConfigDir, 'address' | 'user' | 'privateKeyFile' | 'sshOptions'>, file: 'hardware-configuration.nix' | 'pxed-install.json'): string[] {
  nixosRebuildArgv({ address: c.address, user: c.user, configFile: '/x' }); // validates address and user
  const opts = (c.sshOptions ?? '').split(/\s+/).filter((s) => s !== '');
  const key = c.privateKeyFile !== undefined ? ['-i', c.privateKeyFile] : [];
  return ['-o', 'BatchMode=yes', ...key, ...opts, '--', `${c.user}@${c.address}`, 'cat', `/etc/nixos/${file}`];
}

/** Writes build/<host>/nixos/{configuration.nix,host.json,hardware-configuration.nix[,pxed-install.json]}; returns configuration.nix's path. */
export async function prepareNixosConfig(c: NixosConfigDir): Promise<string> {
  rmSync(c.dir, { recursive: true, force: true });
  mkdirSync(c.dir, { recursive: true, mode: 0o700 });
  mkdirSync(path.dirname(c.logPath), { recursive: true, mode: 0o700 });
  const ctx = installContext('http://pxed.invalid', PREVIEW_TOKEN, c.mac, c.host.install.network.hostname); // host.json holds no URL
  writeFileSync(path.join(c.dir, 'host.json'), renderHostJson(c.host, ctx), { mode: 0o600 });
  writeFileSync(path.join(c.dir, 'configuration.nix'), c.templates.configurationNix, { mode: 0o600 });
  const src = c.env ?? process.env;
  const env: Record<string, string> = { PATH: src.PATH ?? '/usr/bin:/bin', HOME: c.home, LANG: 'C.UTF-8' };
  if (src.SSH_AUTH_SOCK !== undefined) env.SSH_AUTH_SOCK = src.SSH_AUTH_SOCK;
  mkdirSync(c.home, { recursive: true, mode: 0o700 });
  for (const file of ['hardware-configuration.nix', 'pxed-install.json'] as const) {
    const r = await execa(c.sshCommand ?? 'ssh', sshCatArgv(c, file), { env, extendEnv: false, stdin: 'ignore', reject: false, detached: true, ...(c.signal ? { cancelSignal: c.signal } : {}) });
    appendFileSync(c.logPath, `# ssh ${c.user}@${c.address} cat /etc/nixos/${file}: exit ${String(r.exitCode ?? r.signal)}\n${typeof r.stderr === 'string' ? r.stderr : ''}`);
    if (r.exitCode === 0 && typeof r.stdout === 'string') writeFileSync(path.join(c.dir, file), r.stdout + '\n', { mode: 0o600 });
    else if (file === 'hardware-configuration.nix') throw new PxedError('ORCH_NIXOS_SPAWN', `reading /etc/nixos/${file} from ${c.address} failed (exit ${String(r.exitCode ?? r.signal)})`);
  }
  return path.join(c.dir, 'configuration.nix');
}
