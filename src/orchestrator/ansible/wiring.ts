// Builds the daemon's PostInstallService over the config snapshot in effect (app.ts only calls this). The ssh user, key and
// arguments come from defaults.yaml's ansible section; the address from the registry (last IP seen) or the
// entry's static address. Ubuntu entries get the playbooks; NixOS entries get their generated configuration
// (the one the installer got) applied with nixos-rebuild switch --target-host.
import path from 'node:path';
import { loadNixosTemplates, type NixosTemplates } from '../../boot/os/nixos.js';
import type { DaemonConfig } from '../../config/daemon.js';
import type { HostSpec, Provisioning } from '../../config/provisioning.js';
import type { Logger } from '../../log.js';
import type { MachineOperations } from '../../machines/operations.js';
import type { Machine } from '../../model/machine.js';
import { PostInstallService, type PostInstallRegistry } from './daemon.js';
import type { Connection } from './inventory.js';
import { prepareNixosConfig } from './nixos.js';
import { hostPaths, runPostInstall, type PostInstallOptions } from './stage.js';

/** The ssh target of an installed host; null when no address is known. */
export function sshConnection(host: HostSpec, machine: Pick<Machine, 'ip'>, prov: Readonly<Provisioning>): Connection | null {
  const address = machine.ip ?? host.install.network.address_cidr?.split('/')[0] ?? null;
  if (address === null) return null;
  const a = prov.defaults.ansible;
  const user = a?.user ?? host.install.users.find((u) => u.sudo)?.username ?? 'root';
  return {
    kind: 'ssh',
    address,
    user,
    ...(a?.ssh_private_key_file !== undefined ? { privateKeyFile: a.ssh_private_key_file } : {}),
    ...(a?.ssh_common_args !== undefined ? { sshCommonArgs: a.ssh_common_args } : {}),
    ...(a?.python_interpreter !== undefined ? { pythonInterpreter: a.python_interpreter } : {}),
  };
}

/** What the service reads at each job: the daemon config and provisioning in effect (app.ts swaps both on SIGHUP). */
export interface PostInstallSnapshot {
  readonly config: Readonly<DaemonConfig>;
  readonly provisioning: Readonly<Provisioning>;
}

/**
 * The daemon's post-install service. `current` is read at each decision and job, so a reload's provisioning (the
 * entries, defaults.yaml's ansible section) and post_install.hosts / timezone / ntp_servers apply to the next job;
 * concurrency, build_dir and state_dir are bound at start. With post_install.hosts empty the service wants nobody
 * (the feature is off until a reload names hosts).
 */
export function createPostInstallService(
  current: () => PostInstallSnapshot,
  registry: PostInstallRegistry,
  operations: Pick<MachineOperations, 'recordPostInstall'>,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): PostInstallService {
  const bound = current().config.post_install;
  const hosts = () => current().config.post_install.hosts;
  return new PostInstallService({
    registry,
    record: (mac, report) => operations.recordPostInstall(mac, report, 'daemon'),
    enabled: () => hosts().length > 0,
    hostByName: (n) => current().provisioning.hostByName(n),
    wants: (h) => (hosts().includes('*') || hosts().includes(h.name)) && (h.install.os === 'ubuntu' || h.install.os === 'nixos'),
    connection: (h, m) => sshConnection(h, m, current().provisioning),
    run: (h, conn, signal, m) => {
      const pi = current().config.post_install;
      const site = { timezone: pi.timezone, ntpServers: [...pi.ntp_servers] };
      return runPostInstall(h, conn, hostPaths(bound.build_dir, h.name), { stateDir: bound.state_dir, site, env, nixosConfig: nixosConfigFor(bound.build_dir, bound.state_dir, m.mac, env) }, signal);
    },
    concurrency: bound.concurrency,
    log,
  });
}

let templates: NixosTemplates | null = null;

/** The post stage's NixOS configuration for one run: build/<host>/nixos/, hardware facts read from the target. */
export function nixosConfigFor(buildDir: string, stateDir: string, mac: string, env: NodeJS.ProcessEnv, tpl?: NixosTemplates): NonNullable<PostInstallOptions['nixosConfig']> {
  return (host, conn, signal) => {
    const t = tpl ?? (templates ??= loadNixosTemplates());
    return prepareNixosConfig({
      host,
      mac,
      dir: path.join(buildDir, host.name, 'nixos'),
      address: conn.address,
      user: conn.user,
      ...(conn.privateKeyFile !== undefined ? { privateKeyFile: conn.privateKeyFile } : {}),
      ...(conn.sshCommonArgs !== undefined ? { sshOptions: conn.sshCommonArgs } : {}),
      templates: t,
      logPath: hostPaths(buildDir, host.name).logFile,
      home: path.join(stateDir, 'home'),
      env,
      ...(signal !== undefined ? { signal } : {}),
    });
  };
}
