// Builds the daemon from one frozen config: registry -> boot policy -> HTTP -> TFTP -> DHCP -> watchdog.
// Start order is such that nothing is offered before it can be served (DHCP last: a client told to fetch a file
// finds TFTP and HTTP already listening); stop order is the reverse.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MachineAdmin } from './boot/admin.js';
import { createOsProfiles } from './boot/os/index.js';
import { BootPolicy } from './boot/policy.js';
import { bootSettingsFromConfig } from './boot/settings.js';
import { WatchdogService } from './boot/watchdog.js';
import { resolveServerAddress, type DaemonConfig, type NetworkInterfaces } from './config/daemon.js';
import type { HostSpec, Provisioning } from './config/provisioning.js';
import { DhcpService, type DhcpServiceOptions } from './dhcp/server.js';
import type { Reservation } from './dhcp/leases.js';
import { describeError, PxedError } from './errors.js';
import { entrySummaries } from './http/ui/page-api.js';
import { HttpService } from './http/service.js';
import type { Logger } from './log.js';
import { openRegistry } from './registry/sqlite.js';
import type { MachineRegistry } from './registry/types.js';
import { ServiceGroup, type Service } from './service.js';
import { TftpService } from './tftp/server.js';

export interface AppOptions {
  config: Readonly<DaemonConfig>;
  provisioning: Readonly<Provisioning>;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Injectable for tests; default os.networkInterfaces(). */
  interfaces?: NetworkInterfaces;
  /** Called once when a service fails after start (a socket error): the caller should stop the app. */
  onFatal?: (err: Error) => void;
}

export interface App {
  readonly services: ServiceGroup;
  readonly registry: MachineRegistry;
  readonly policy: BootPolicy;
  readonly serverAddress: string;
  readonly http: HttpService;
  readonly dhcp: DhcpService | null;
  readonly tftp: TftpService | null;
  /** True once every service is up (/readyz). */
  ready(): boolean;
  start(): Promise<void>;
  /** Stops in reverse order; never throws; false if a stop failed or ran past the deadline. */
  stop(deadlineMs?: number): Promise<boolean>;
}

/**
 * The admin API token from its configured source. A missing token file is created with a fresh random token
 * (mode 0600) so that the first start works without a secret in the config; an unset env var disables the API.
 */
export function resolveAdminToken(admin: DaemonConfig['admin'], env: NodeJS.ProcessEnv, log: Logger): string | null {
  if (admin.token_env !== undefined) {
    const v = env[admin.token_env]?.trim();
    if (!v) {
      log.warn('admin token environment variable is empty: /api/v1 answers 401 to everything', { env: admin.token_env });
      return null;
    }
    return v;
  }
  const file = admin.token_file!;
  try {
    const v = readFileSync(file, 'utf8').trim();
    if (v) return v;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new PxedError('CONFIG_INVALID', `admin.token_file ${file}: ${(err as Error).message}`, { file });
    }
  }
  const token = randomBytes(32).toString('base64url');
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'w' });
  log.info('generated a new admin API token', { file });
  return token;
}

/**
 * Registers every configured host that has a MAC (boot_method pxe or a known NIC) so it boots without a CLI step.
 * Existing machines keep their state; a `discovered` one that the config now names becomes `registered`.
 */
export function syncConfiguredHosts(registry: MachineRegistry, hosts: readonly HostSpec[], log: Logger): void {
  for (const host of hosts) {
    if (host.mac === null || host.boot_method !== 'pxe') continue;
    const m = registry.machineGet(host.mac);
    if (m === null) {
      registry.machineCreate({ mac: host.mac, host: host.name, state: 'registered', ...(host.install_mode ? { installMode: host.install_mode } : {}) });
      log.info('registered configured host', { mac: host.mac, host: host.name });
    } else if (m.host !== host.name) {
      registry.machineUpdate(host.mac, { host: host.name });
      if (m.state === 'discovered') registry.machineTransition(host.mac, 'registered', 'named in the provisioning config');
      log.info('configured host now names this machine', { mac: host.mac, host: host.name, was: m.host });
    }
  }
}

/** Full-DHCP reservations: configured hosts with a MAC and a static address. */
function reservationsFrom(hosts: readonly HostSpec[]): Reservation[] {
  const out: Reservation[] = [];
  for (const h of hosts) {
    const cidr = h.install.network.address_cidr;
    if (h.mac !== null && cidr !== null) out.push({ mac: h.mac, ip: cidr.split('/')[0]!, hostname: h.install.network.hostname });
  }
  return out;
}

/** The registry as a service: it is opened when the app is built (everything depends on it) and closed last. */
class RegistryService implements Service {
  readonly name = 'registry';
  constructor(
    private readonly registry: MachineRegistry,
    private readonly hosts: readonly HostSpec[],
    private readonly log: Logger,
  ) {}
  async start(): Promise<void> {
    syncConfiguredHosts(this.registry, this.hosts, this.log);
    await Promise.resolve();
  }
  async stop(): Promise<void> {
    this.registry.close();
    await Promise.resolve();
  }
}

/** Wraps a policy-owned resource that must be released with the app (event subscriptions). */
class PolicyService implements Service {
  readonly name = 'boot-policy';
  constructor(private readonly policy: BootPolicy) {}
  async start(): Promise<void> {
    await Promise.resolve();
  }
  async stop(): Promise<void> {
    this.policy.close();
    await Promise.resolve();
  }
}

export async function buildApp(opts: AppOptions): Promise<App> {
  const { config: cfg, provisioning, logger: log } = opts;
  const server = resolveServerAddress(cfg.server, opts.interfaces);
  log.info('server address', { address: server.address, interface: server.interface, reason: server.reason });
  const adminToken = resolveAdminToken(cfg.admin, opts.env ?? process.env, log);

  const { profiles, missingNetboot } = await createOsProfiles({ images: provisioning.defaults.images, assetRoots: cfg.http.asset_roots });
  for (const v of missingNetboot) {
    log.warn('no local netboot.ipxe for a NixOS catalog version: installs of it will fail until it is downloaded', { version: v });
  }

  const registry = openRegistry(cfg.registry.database, { log: log.child({ subsystem: 'registry' }) });
  let up = false;
  try {
    const policy = new BootPolicy({
      registry,
      provisioning,
      osProfiles: profiles,
      logger: log.child({ subsystem: 'boot' }),
      settings: bootSettingsFromConfig(cfg, server.address),
    });
    const admin = new MachineAdmin({ registry, provisioning, policy, installMode: cfg.policy.install_mode });
    const onFatal = (err: Error): void => {
      log.error('service failed', { err: describeError(err) });
      opts.onFatal?.(err);
    };

    const entries = entrySummaries(provisioning.hosts);
    const http = new HttpService(
      { host: cfg.http.listen, port: cfg.http.port },
      {
        policy,
        admin,
        assetRoots: cfg.http.asset_roots,
        ipxeBinRoots: cfg.tftp.roots,
        adminToken,
        entries: () => entries,
        logger: log.child({ subsystem: 'http' }),
        ready: () => up,
      },
    );
    const tftp = cfg.tftp.enabled
      ? new TftpService({
          listen: [server.address],
          port: cfg.tftp.port,
          roots: cfg.tftp.roots,
          maxBlksize: cfg.tftp.max_blksize,
          maxTransfers: cfg.tftp.max_transfers,
          maxTransfersPerClient: cfg.tftp.max_per_client,
          timeoutMs: cfg.tftp.timeout_ms,
          retries: cfg.tftp.retries,
          cacheBytes: cfg.tftp.cache_mb * 1024 * 1024,
          policy,
          log: log.child({ subsystem: 'tftp' }),
          onFatal,
        })
      : null;
    let dhcp: DhcpService | null = null;
    if (cfg.dhcp.enabled) {
      const dopts: DhcpServiceOptions = {
        ...(server.interface !== null ? { interface: server.interface } : {}),
        address: server.address,
        port: cfg.dhcp.port,
        bootServerPort: cfg.dhcp.boot_server_port,
        mode: cfg.dhcp.mode,
        vendorPrefixes: cfg.dhcp.vendor_prefixes,
        policy,
        log: log.child({ subsystem: 'dhcp' }),
        onFatal,
      };
      const full = cfg.dhcp.full;
      if (cfg.dhcp.mode === 'full' && full !== undefined) {
        const reservations = reservationsFrom(provisioning.hosts);
        dopts.full = {
          poolStart: full.range_start,
          poolEnd: full.range_end,
          subnetMask: cidrMask(full.subnet),
          ...(full.router !== undefined ? { router: full.router } : {}),
          dns: full.dns,
          ...(full.domain !== undefined ? { domain: full.domain } : {}),
          leaseSeconds: full.lease_seconds,
          leases: registry,
          reservations: () => reservations,
        };
      }
      dhcp = new DhcpService(dopts);
    }
    const watchdog = new WatchdogService({ policy, logger: log.child({ subsystem: 'watchdog' }) });

    const ordered: Service[] = [new RegistryService(registry, provisioning.hosts, log), new PolicyService(policy), http];
    if (tftp) ordered.push(tftp);
    if (dhcp) ordered.push(dhcp);
    ordered.push(watchdog);
    const services = new ServiceGroup(ordered, log);

    return {
      services,
      registry,
      policy,
      serverAddress: server.address,
      http,
      dhcp,
      tftp,
      ready: () => up,
      async start() {
        await services.start();
        up = true;
      },
      async stop(deadlineMs?: number) {
        up = false;
        return services.stop(deadlineMs);
      },
    };
  } catch (err) {
    registry.close();
    throw err;
  }
}

function cidrMask(cidr: string): string {
  const bits = Number(cidr.split('/')[1]);
  const n = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}
