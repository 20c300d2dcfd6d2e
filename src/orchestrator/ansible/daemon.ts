// Event-driven post-install in the daemon. When the registry records `installed` for a machine whose install entry
// is in post_install.hosts, the machine is queued (bounded concurrency); its job moves it to `post-installing`,
// runs the post-install stage and moves it to `configured` (ok) or `failed`, with timeline events
// `post-install` {phase: started | ok | failed | interrupted}; started/ok/failed go through the one machine
// operation (MachineOperations.recordPostInstall, by daemon), as `pxed provision`'s do. Queued machines stay
// `installed`: at start-up every such machine is queued again, and one found `post-installing` (the daemon stopped
// mid-run) is marked failed with an `interrupted` event, never left silently where it was. stop() aborts running
// jobs (their children are killed by process group) and waits for them.
import type { HostSpec } from '../../config/provisioning.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { BootEvents, type BootEvent, type PostInstallDetail } from '../../model/events.js';
import type { Machine } from '../../model/machine.js';
import type { PostInstallReport } from '../../machines/operations.js';
import type { MachineRegistry } from '../../registry/types.js';
import type { Service } from '../../service.js';
import type { Connection } from './inventory.js';
import { BoundedQueue } from './queue.js';
import type { PostInstallOutcome } from './stage.js';

export type PostInstallRegistry = Pick<
  MachineRegistry,
  'atomically' | 'machineGet' | 'machineList' | 'machineTransition' | 'eventAppend' | 'eventSubscribe'
>;

export interface PostInstallServiceDeps {
  registry: PostInstallRegistry;
  /** MachineOperations.recordPostInstall bound to the daemon as actor: the event and the state change it implies. */
  record(mac: string, report: PostInstallReport): Machine;
  /**
   * False while the feature is off (no post_install.hosts): start-up then leaves machines found post-installing
   * alone (a `pxed provision` may be running their post stage). Default: on.
   */
  enabled?(): boolean;
  hostByName(name: string): HostSpec | null;
  /** True when the host's entry asks for post-install (daemon config post_install.hosts). */
  wants(host: HostSpec): boolean;
  /** How to reach the installed machine; null when no address is known (the job fails saying so). */
  connection(host: HostSpec, machine: Machine): Connection | null;
  /** Runs the stage (runPostInstall with the daemon's paths and options bound). Never throws for a failed run. */
  run(host: HostSpec, conn: Connection, signal: AbortSignal, machine: Machine): Promise<PostInstallOutcome>;
  concurrency: number;
  log: Logger;
}

export const POST_INSTALL_EVENT = 'post-install';

export class PostInstallService implements Service {
  readonly name = 'post-install';
  private readonly queue: BoundedQueue;
  private readonly abort = new AbortController();
  private readonly pending = new Set<string>();
  private readonly jobs = new Set<Promise<void>>();
  private unsubscribe: (() => void) | null = null;
  private stopping = false;

  constructor(private readonly deps: PostInstallServiceDeps) {
    this.queue = new BoundedQueue(deps.concurrency);
  }

  async start(): Promise<void> {
    const { registry } = this.deps;
    const interrupted = this.deps.enabled?.() === false ? [] : registry.machineList({ state: 'post-installing' });
    for (const m of interrupted) {
      registry.atomically(() => {
        this.note(m.mac, { phase: 'interrupted', reason: 'the daemon stopped during the run' });
        registry.machineTransition(m.mac, 'failed', 'post-install interrupted by a daemon restart', { stage: 'post-install' });
      });
      this.deps.log.warn('post-install was interrupted by a restart: machine marked failed', { mac: m.mac, host: m.host });
    }
    this.unsubscribe = registry.eventSubscribe((e) => this.onEvent(e));
    this.rescan();
    await Promise.resolve();
  }

  /** Queues every `installed` machine the config wants now (at start, and after a reload changed who is wanted). */
  rescan(): void {
    for (const m of this.deps.registry.machineList({ state: 'installed' })) this.consider(m.mac);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.abort.abort();
    await Promise.allSettled([...this.jobs]);
  }

  /** Machines queued or running now (for tests and metrics). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Appends a `post-install` timeline event (the one place that names the event kind). */
  private note(mac: string, detail: PostInstallDetail): void {
    this.deps.registry.eventAppend(mac, BootEvents.postInstall(detail));
  }

  private onEvent(e: BootEvent): void {
    if (e.kind !== 'state' || e.detail.to !== 'installed') return;
    // Listeners run inside the registry's commit path: queue the work, write nothing from here.
    setImmediate(() => this.consider(e.mac));
  }

  private consider(mac: string): void {
    if (this.stopping || this.pending.has(mac)) return;
    const m = this.deps.registry.machineGet(mac);
    if (m === null || m.state !== 'installed' || m.host === null) return;
    const host = this.deps.hostByName(m.host);
    if (host === null || !this.deps.wants(host)) return;
    this.pending.add(mac);
    const job = this.queue
      .run(() => this.runOne(mac, host))
      .catch((err: unknown) => this.deps.log.error('post-install job failed', { mac, host: host.name, err: describeError(err) }))
      .finally(() => {
        this.pending.delete(mac);
        this.jobs.delete(job);
      });
    this.jobs.add(job);
  }

  private async runOne(mac: string, host: HostSpec): Promise<void> {
    const { registry, log } = this.deps;
    if (this.stopping) return;
    const m = registry.machineGet(mac);
    if (m === null || m.state !== 'installed') return; // re-armed or moved on while queued
    const conn = this.deps.connection(host, m);
    this.deps.record(mac, { phase: 'started', host: host.name, ...(conn === null ? {} : { target: conn.kind === 'ssh' ? conn.address : 'chroot' }) });
    log.info('post-install started', { mac, host: host.name });
    if (conn === null) {
      this.finish(mac, host, null, 'no address known for the installed machine');
      return;
    }
    const out = await this.deps.run(host, conn, this.abort.signal, m);
    if (out.aborted) {
      // The daemon is stopping: leave post-installing; the next start-up marks it interrupted.
      this.note(mac, { phase: 'interrupted', reason: 'daemon stopping', logPath: out.logPath });
      log.warn('post-install interrupted by shutdown', { mac, host: host.name });
      return;
    }
    this.finish(mac, host, out, out.error);
  }

  private finish(mac: string, host: HostSpec, out: PostInstallOutcome | null, error: string | null): void {
    const { registry, log } = this.deps;
    const ok = out !== null && out.ok;
    const report: PostInstallReport = {
      phase: ok ? 'ok' : 'failed',
      host: host.name,
      stats: out?.stats ?? null,
      durationMs: out?.durationMs ?? 0,
      exitCode: out?.exitCode ?? null,
      ...(out === null ? {} : { method: out.method, logPath: out.logPath }),
      ...(ok || error === null ? {} : { error }),
    };
    if (registry.machineGet(mac) === null) {
      log.warn('machine deleted during its post-install: result not recorded', { mac, host: host.name, ok });
      return;
    }
    const after = this.deps.record(mac, report);
    if (after.state !== (ok ? 'configured' : 'failed')) {
      log.warn('machine left post-installing during the run: result recorded as an event only', { mac, state: after.state });
    } else if (ok) log.info('post-install ok', { mac, host: host.name, stats: report.stats, log: report.logPath });
    else log.warn('post-install failed', { mac, host: host.name, error, log: report.logPath });
  }
}
