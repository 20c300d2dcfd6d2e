// Builds the daemon from one frozen config: registry -> boot policy -> HTTP -> TFTP -> DHCP -> watchdog.
// Start order is such that nothing is offered before it can be served (DHCP last: a client told to fetch a file
// finds TFTP and HTTP already listening); stop order is the reverse.

import { PxedMetrics } from './appliance/metrics.js';
import { hostChanges, logSync, restartOnlyChanges, type ConfigSnapshot, type ReloadReport } from './appliance/reload.js';
import { MachineAdmin } from './boot/admin.js';
import { createOsProfiles } from './boot/os/index.js';
import { BootPolicy } from './boot/policy.js';
import { bootSettingsFromConfig } from './boot/settings.js';
import { RetentionService } from './boot/retention.js';
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
import { MachineOperations, type SyncReport } from './machines/operations.js';
import { DAEMON_BUSY_TIMEOUT_MS } from './registry/health.js';
import { createPostInstallService } from './orchestrator/ansible/wiring.js';
import type { WalCheckpointer } from './registry/checkpoint.js';
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
  /**
   * Stops in reverse order; never throws; false if a stop failed or ran past the deadline. With `drainMs`, the
   * services first stop accepting and running TFTP transfers and HTTP downloads get that long to finish.
   */
  stop(deadlineMs?: number, drainMs?: number): Promise<boolean>;
  /** The config and provisioning in effect. */
  snapshot(): ConfigSnapshot;
  /**
   * Swaps in a new config and provisioning (SIGHUP) without touching a socket: new OS profiles are built first
   * (a failure changes nothing), then the registry is synced and the boot policy's snapshot swapped in one turn
   * of the event loop. Settings bound at start keep their old value (ReloadReport.restartOnly).
   */
  reload(next: ConfigSnapshot): Promise<ReloadReport>;
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
    private readonly sync: () => void,
    private readonly checkpoints: WalCheckpointer,
  ) {}
  /** Brings the registry in line with the provisioning config (syncFromConfig), then checkpoints off the loop. */
  async start(): Promise<void> {
    this.sync();
    this.checkpoints.start();
    await Promise.resolve();
  }
  /**
   * Closing checkpoints the WAL into the database file (registry/sqlite.ts close) once the checkpoint thread has
   * closed its connection. One turn of the event loop first: connections the HTTP stop cut report their transfer
   * from their 'close' events.
   */
  async stop(): Promise<void> {
    await this.checkpoints.stop();
    await new Promise((r) => setImmediate(r));
    this.registry.close();
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
    log.warn('no local netboot.ipxe for a NixOS catalog version: installs of it will fail until it is downloaded', { version: v, fix: `pxed assets fetch nixos/${v}/netboot.ipxe` });
  }

  const registry = openRegistry(cfg.registry.database, { log: log.child({ subsystem: 'registry' }), busyTimeoutMs: DAEMON_BUSY_TIMEOUT_MS });
  // /readyz probes the registry at most every 2 s (the probe takes the write lock for an instant).
  let health: { at: number; problem: string | null } = { at: 0, problem: null };
  const registryHealth = (): string | null => {
    if (Date.now() - health.at >= 2000) health = { at: Date.now(), problem: registry.healthProblem() };
    return health.problem;
  };
  let up = false;
  // The config and provisioning in effect, swapped whole by reload(); the views below read it at each call.
  let current: Readonly<ConfigSnapshot & { reservations: Reservation[] }> = Object.freeze({ config: cfg, provisioning, reservations: reservationsFrom(provisioning.hosts) });
  const hosts = {
    hostByName: (name: string) => current.provisioning.hostByName(name),
    hostByMac: (mac: string) => current.provisioning.hostByMac(mac),
    /** The admin page's entry list (MachineAdmin.entries). */
    get hosts() {
      return current.provisioning.hosts;
    },
  };
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
    const operations = new MachineOperations({
      registry,
      provisioning: hosts,
      get installMode() {
        return current.config.policy.install_mode;
      },
    });
    const admin = new MachineAdmin({ operations, registry, provisioning: hosts, policy });
    const sync = (): SyncReport => {
      const r = operations.syncFromConfig(current.provisioning.hosts);
      logSync(log, r);
      return r;
    };
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
        dopts.full = {
          poolStart: full.range_start,
          poolEnd: full.range_end,
          subnetMask: cidrMask(full.subnet),
          ...(full.router !== undefined ? { router: full.router } : {}),
          dns: full.dns,
          ...(full.domain !== undefined ? { domain: full.domain } : {}),
          leaseSeconds: full.lease_seconds,
          leases: registry,
          reservations: () => current.reservations,
        };
      }
      dhcp = new DhcpService(dopts);
    }
    const watchdog = new WatchdogService({
      registry,
      clock: systemClock,
      get watchdogMinutes() {
        return current.config.policy.install_watchdog_minutes;
      },
      logger: log.child({ subsystem: 'watchdog' }),
    });

    const ordered: Service[] = [new RegistryService(registry, sync, registry.walCheckpointer()), http];
    if (tftp) ordered.push(tftp);
    // DHCP has nothing in flight: draining it is stopping it, so no new client is sent to a closing TFTP/HTTP.
    if (dhcp) ordered.push({ name: dhcp.name, start: () => dhcp!.start(), stop: () => dhcp!.stop(), drain: () => dhcp!.stop() });
    ordered.push(watchdog);
    // Event retention (registry section; bounded batches every minute).
    ordered.push(new RetentionService({
      registry,
      clock: systemClock,
      logger: log.child({ subsystem: 'retention' }),
      eventsPerMachine: cfg.registry.events_per_machine,
      maxAgeDays: cfg.registry.event_max_age_days,
    }));
    // Last to start, first to stop: its jobs are aborted while the registry is still open.
    const postInstall = createPostInstallService(() => current, registry, operations, log.child({ subsystem: 'post-install' }), opts.env ?? process.env);
    ordered.push(postInstall);
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
      async stop(deadlineMs?: number, drainMs?: number) {
        up = false;
        return services.stop(deadlineMs, drainMs);
      },
      snapshot: () => ({ config: current.config, provisioning: current.provisioning }),
      async reload(next) {
        const old = current;
        // Bound at start: the asset roots (netboot.ipxe copies), the server address and the HTTP port.
        const built = await createOsProfiles({ images: next.provisioning.defaults.images, assetRoots: cfg.http.asset_roots });
        const settings = bootSettingsFromConfig(next.config, server.address, { httpPort: policy.snapshot.settings.httpPort });
        // From here on synchronous: no request sees a half-applied reload.
        current = Object.freeze({ config: next.config, provisioning: next.provisioning, reservations: reservationsFrom(next.provisioning.hosts) });
        let r: SyncReport;
        try {
          r = operations.syncFromConfig(next.provisioning.hosts);
        } catch (err) {
          current = old;
          throw err;
        }
        policy.reconfigure({ provisioning: next.provisioning, settings, osProfiles: built.profiles });
        // Installed machines the new config wants configured (post_install.hosts, entries) are queued now.
        if (up) postInstall.rescan();
        return {
          restartOnly: restartOnlyChanges(old.config, next.config),
          hosts: hostChanges(old.provisioning.hosts, next.provisioning.hosts),
          sync: r,
          missingNetboot: built.missingNetboot,
        };
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
