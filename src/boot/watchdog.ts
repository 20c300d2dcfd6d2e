// The install watchdog: booting/installing machines that have made no progress (no state change and no event) for
// settings.watchdogMinutes become `stalled`, with a reason naming the last thing they did. The decision is the pure
// rule model/machine.ts isStalled; this service follows the registry's event stream between start() and stop()
// (the last event per MAC) and checks every `intervalMs`. A machine on the signed Secure Boot chain also gets the
// chain's stage in the reason ("stopped after GRUB fetched the kernel", model/secure-boot.ts).

import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../model/clock.js';
import type { BootEvent } from '../model/events.js';
import { WATCHED_STATES, isStalled } from '../model/machine.js';
import { SECURE_BOOT_STAGES, SECURE_BOOT_STAGE_TEXT, secureBootStageOf, type SecureBootStage } from '../model/secure-boot.js';
import type { MachineRegistry } from '../registry/types.js';
import type { Service } from '../service.js';
import { PeriodicSubscription } from './periodic.js';

export interface WatchdogOptions {
  registry: MachineRegistry;
  clock: Clock;
  /** No progress for this long → stalled. */
  watchdogMinutes: number;
  /** How often to check. Default 30 s (the timeout itself is in minutes). */
  intervalMs?: number;
  logger: Logger;
}

/** Bound of the last-event memo (cleared when full; the state change time still counts). */
const LAST_EVENTS_MAX = 100_000;

export class WatchdogService implements Service {
  readonly name = 'watchdog';
  private readonly periodic = new PeriodicSubscription();
  /** Last event time and kind per MAC, from the registry's event stream; the Secure Boot stage reached, if any. */
  private readonly lastEvent = new Map<string, { ms: number; kind: string; secureBoot?: SecureBootStage }>();

  constructor(private readonly opts: WatchdogOptions) {}

  async start(): Promise<void> {
    this.periodic.start(() => this.opts.registry.eventSubscribe((e) => this.note(e)), () => this.tick(), this.opts.intervalMs ?? 30_000);
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    this.periodic.stop();
    await Promise.resolve();
  }

  /** One check; never throws (a failing registry is logged and retried at the next tick). */
  tick(): string[] {
    try {
      return this.check();
    } catch (err) {
      this.opts.logger.error('watchdog check failed', { err: describeError(err) });
      return [];
    }
  }

  /** Marks every machine the rule says has stalled; returns the MACs it moved. */
  check(): string[] {
    const now = this.opts.clock.now();
    const limitMs = this.opts.watchdogMinutes * 60_000;
    const moved: string[] = [];
    for (const state of WATCHED_STATES) {
      for (const m of this.opts.registry.machineList({ state })) {
        const last = this.lastEvent.get(m.mac);
        if (!isStalled(m, now, limitMs, last?.ms)) continue;
        const changed = Date.parse(m.stateChangedAt);
        const lastMs = Math.max(Number.isFinite(changed) ? changed : 0, last?.ms ?? 0);
        const minutes = Math.floor((now.getTime() - lastMs) / 60_000);
        const lastKind = last !== undefined && last.ms >= changed ? last.kind : 'state';
        const sb = last?.secureBoot;
        const stopped = sb === undefined ? '' : `; Secure Boot chain stopped after ${SECURE_BOOT_STAGE_TEXT[sb]}`;
        const reason = `no progress for ${minutes} min while ${m.state} (last event: ${lastKind}${stopped})`;
        try {
          this.opts.registry.machineTransition(m.mac, 'stalled', reason, {
            watchdogMinutes: this.opts.watchdogMinutes,
            lastEventAt: new Date(lastMs).toISOString(),
            lastEvent: lastKind,
            ...(sb !== undefined ? { secureBootStage: sb } : {}),
          });
          moved.push(m.mac);
          this.opts.logger.warn('install stalled', { mac: m.mac, reason });
        } catch (err) {
          this.opts.logger.warn('watchdog could not mark machine stalled', { mac: m.mac, err: describeError(err) });
        }
      }
    }
    return moved;
  }

  private note(e: BootEvent): void {
    const ms = Date.parse(e.time);
    if (Number.isFinite(ms)) this.lastEvent.set(e.mac, { ms, kind: e.kind, ...this.secureBootAfter(e) });
    if (this.lastEvent.size > LAST_EVENTS_MAX) this.lastEvent.clear();
  }

  /**
   * The Secure Boot stage this MAC has reached after `e`: a new netboot (firmware DHCP) or a shim transfer starts
   * over; the kernel speaking to pxed (phone-home, artifact) or a re-arm ends it.
   */
  private secureBootAfter(e: BootEvent): { secureBoot?: SecureBootStage } {
    if (e.kind === 'phone-home' || e.kind === 'artifact' || e.kind === 'dhcp-offer' || (e.kind === 'state' && e.detail.to === 'registered')) return {};
    const prev = this.lastEvent.get(e.mac)?.secureBoot;
    const now = secureBootStageOf(e);
    if (now === 'shim' || (now !== null && prev === undefined)) return { secureBoot: now };
    if (prev === undefined) return {};
    return { secureBoot: now !== null && SECURE_BOOT_STAGES.indexOf(now) > SECURE_BOOT_STAGES.indexOf(prev) ? now : prev };
  }
}
