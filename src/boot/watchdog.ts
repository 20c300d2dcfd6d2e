// The install watchdog as a service: every `intervalMs` it asks the policy to mark booting/installing machines
// that have made no progress for the configured time as `stalled` (BootPolicy.checkWatchdog).

import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Service } from '../service.js';

export interface WatchdogOptions {
  policy: { checkWatchdog(): string[] };
  /** How often to check. Default 30 s (the timeout itself is in minutes). */
  intervalMs?: number;
  logger: Logger;
}

export class WatchdogService implements Service {
  readonly name = 'watchdog';
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: WatchdogOptions) {}

  async start(): Promise<void> {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? 30_000);
    this.timer.unref();
    await Promise.resolve();
  }

  /** One check; never throws (a failing registry is logged and retried at the next tick). */
  tick(): string[] {
    try {
      return this.opts.policy.checkWatchdog();
    } catch (err) {
      this.opts.logger.error('watchdog check failed', { err: describeError(err) });
      return [];
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.resolve();
  }
}
