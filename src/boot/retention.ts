// Event retention (issue 14 item 3; docs/security.md "Limits"): every machine keeps its newest `eventsPerMachine`
// events, and events older than `maxAgeDays` go. Pruned in bounded batches (registry retention.ts) every
// `intervalMs`, at most `maxBatches` batches per run, so a large backlog is worked off over several runs without
// holding the write lock for long. Machines are checked when they had events since the last run (the registry's
// event stream), and all of them once at start.

import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../model/clock.js';
import type { MachineRegistry } from '../registry/types.js';
import type { Service } from '../service.js';
import { PeriodicSubscription } from './periodic.js';

export const DEFAULT_EVENTS_PER_MACHINE = 2000;
export const DEFAULT_EVENT_MAX_AGE_DAYS = 90;
/** Rows deleted per registry call. */
export const PRUNE_BATCH = 500;

export interface RetentionOptions {
  registry: MachineRegistry;
  clock: Clock;
  logger: Logger;
  eventsPerMachine?: number;
  maxAgeDays?: number;
  /** Default 60 s. */
  intervalMs?: number;
  /** Batches per run, all kinds together. Default 20 (10 000 rows). */
  maxBatches?: number;
}

/** Machines remembered as needing a count check; beyond it the set is cleared and every machine checked next run. */
const DIRTY_MAX = 100_000;

export class RetentionService implements Service {
  readonly name = 'retention';
  private readonly periodic = new PeriodicSubscription();
  private readonly dirty = new Set<string>();
  private everyone = true;

  constructor(private readonly opts: RetentionOptions) {}

  async start(): Promise<void> {
    this.periodic.start(
      () =>
        this.opts.registry.eventSubscribe((e) => {
          if (this.dirty.size >= DIRTY_MAX) {
            this.dirty.clear();
            this.everyone = true;
          }
          this.dirty.add(e.mac);
        }),
      () => this.tick(),
      this.opts.intervalMs ?? 60_000,
    );
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    this.periodic.stop();
    await Promise.resolve();
  }

  /** One run; never throws (a failing registry is logged and retried at the next tick). */
  tick(): { byAge: number; byCount: number } {
    try {
      const r = this.run();
      if (r.byAge + r.byCount > 0) this.opts.logger.info('old events pruned', r);
      return r;
    } catch (err) {
      this.opts.logger.warn('event retention run failed', { err: describeError(err) });
      return { byAge: 0, byCount: 0 };
    }
  }

  /** Deletes at most maxBatches × PRUNE_BATCH events: old ones first, then each checked machine's excess. */
  run(): { byAge: number; byCount: number } {
    const { registry } = this.opts;
    let batches = this.opts.maxBatches ?? 20;
    const keep = this.opts.eventsPerMachine ?? DEFAULT_EVENTS_PER_MACHINE;
    const cutoff = new Date(this.opts.clock.now().getTime() - (this.opts.maxAgeDays ?? DEFAULT_EVENT_MAX_AGE_DAYS) * 86_400_000).toISOString();
    let byAge = 0;
    let byCount = 0;
    while (batches > 0) {
      batches--;
      const n = registry.eventPruneBefore(cutoff, PRUNE_BATCH);
      byAge += n;
      if (n < PRUNE_BATCH) break;
    }
    if (this.everyone) {
      for (const m of registry.machineList()) this.dirty.add(m.mac);
      this.everyone = false;
    }
    for (const mac of [...this.dirty]) {
      if (batches <= 0) break;
      batches--;
      const n = registry.eventPruneMachine(mac, keep, PRUNE_BATCH);
      byCount += n;
      // A full batch: more may be left, check again next run.
      if (n < PRUNE_BATCH) this.dirty.delete(mac);
    }
    return { byAge, byCount };
  }
}
