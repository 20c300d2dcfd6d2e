// Builds the daemon from one frozen config: registry -> boot policy -> HTTP -> TFTP -> DHCP -> watchdog.
// Start order is such that nothing is offered before it can be served (DHCP last: a client told to fetch a file
// finds TFTP and HTTP already listening); stop order is the reverse.

import { PxedMetrics } from './appliance/metrics.js';
import { MachineAdmin } from './boot/admin.js';
import { createOsProfiles } from './boot/os/index.js';
import { BootPolicy } from './boot/policy.js';
import { bootSettingsFromConfig } from './boot/settings.js';
import { WatchdogService } from './boot/watchdog.js';
import { resolveAdminToken } from './config/admin-token.js';
import { resolveServerAddress, type DaemonConfig, type NetworkInterfaces } from './config/daemon.js';
import type { HostSpec, Provisioning } from './config/provisioning.js';
import { DhcpService, type DhcpServiceOptions } from './dhcp/server.js';
import type { Reservation } from './dhcp/leases.js';
import { describeError } from './errors.js';
import { httpListenAddress, limitsFromConfig } from './http/limits.js';
import { HttpMetrics } from './http/metrics.js';
import { HttpService } from './http/service.js';
import type { Logger } from './log.js';
import { MachineOperations } from './machines/operations.js';
import { DAEMON_BUSY_TIMEOUT_MS } from './registry/health.js';
import { createPostInstallService } from './orchestrator/ansible/wiring.js';
import { openRegistry } from './registry/sqlite.js';
import { systemClock } from './model/clock.js';
import { prefixToNetmask } from './net/ipv4.js';
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
    private readonly operations: MachineOperations,
    private readonly hosts: readonly HostSpec[],
    private readonly log: Logger,
  ) {}
  /** Brings the registry in line with the provisioning config (configured PXE hosts are registered). */
  async start(): Promise<void> {
    const r = this.operations.syncFromConfig(this.hosts);
    for (const mac of r.created) this.log.info('registered configured host', { mac });
    for (const mac of r.renamed) this.log.info('configured host now names this machine', { mac });
    await Promise.resolve();
  }
  async stop(): Promise<void> {
    this.registry.close();
    await Promise.resolve();
  }
}

export { resolveAdminToken };

export async function buildApp(opts: AppOptions): Promise<App> {
  const { config: cfg, provisioning, logger: log } = opts;
  const server = resolveServerAddress(cfg.server, opts.interfaces);
  log.info('server address', { address: server.address, interface: server.interface, reason: server.reason });
  const adminToken = resolveAdminToken(cfg.admin, opts.env ?? process.env, log);

  const { profiles, missingNetboot } = await createOsProfiles({ images: provisioning.defaults.images, assetRoots: cfg.http.asset_roots });
  for (const v of missingNetboot) {
    log.warn('no local netboot.ipxe for a NixOS catalog version: installs of it will fail until it is downloaded', { version: v });
  }

  const registry = openRegistry(cfg.registry.database, { log: log.child({ subsystem: 'registry' }), busyTimeoutMs: DAEMON_BUSY_TIMEOUT_MS });
  // /readyz probes the registry at most every 2 s (the probe takes the write lock for an instant).
  let health: { at: number; problem: string | null } = { at: 0, problem: null };
  const registryHealth = (): string | null => {
    if (Date.now() - health.at >= 2000) health = { at: Date.now(), problem: registry.healthProblem() };
    return health.problem;
  };
  let up = false;
  try {
    const metrics = new PxedMetrics();
    const policy = new BootPolicy({
      registry,
      provisioning,
      osProfiles: profiles,
      logger: log.child({ subsystem: 'boot' }),
      settings: bootSettingsFromConfig(cfg, server.address),
      metrics: metrics.boot,
    });
    const operations = new MachineOperations({ registry, provisioning, installMode: cfg.policy.install_mode });
    const admin = new MachineAdmin({ operations, registry, provisioning, policy });
    registry.eventSubscribe((e) => metrics.onEvent(e));
    const onFatal = (err: Error): void => {
      log.error('service failed', { err: describeError(err) });
      opts.onFatal?.(err);
    };

    const http = new HttpService(
      { host: httpListenAddress(cfg.http.listen, server.address, (m, f) => log.warn(m, f)), port: cfg.http.port },
      {
        policy,
        admin,
        assetRoots: cfg.http.asset_roots,
        ipxeBinRoots: cfg.tftp.roots,
        adminToken,
        logger: log.child({ subsystem: 'http' }),
        metrics: new HttpMetrics(metrics),
        ready: () => up,
        limits: limitsFromConfig(cfg.http.limits),
        health: registryHealth,
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
          metrics: metrics.tftp,
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
        metrics: metrics.dhcp,
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
    const watchdog = new WatchdogService({
      registry,
      clock: systemClock,
      watchdogMinutes: cfg.policy.install_watchdog_minutes,
      logger: log.child({ subsystem: 'watchdog' }),
    });

    const ordered: Service[] = [new RegistryService(registry, operations, provisioning.hosts, log), http];
    if (tftp) ordered.push(tftp);
    if (dhcp) ordered.push(dhcp);
    ordered.push(watchdog);
    // Last to start, first to stop: its jobs are aborted while the registry is still open.
    const postInstall = createPostInstallService(cfg, provisioning, registry, log.child({ subsystem: 'post-install' }), opts.env ?? process.env);
    if (postInstall) ordered.push(postInstall);
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
  return prefixToNetmask(Number(cidr.split('/')[1]));
}
