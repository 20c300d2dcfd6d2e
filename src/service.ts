// Long-lived services: constructors only assign; start() binds/opens, stop() releases.
// The app starts them in order (registry -> HTTP -> TFTP -> DHCP, so nothing is offered before it can be served)
// and stops them in reverse; a failed stop is logged and the rest still stop.

import type { Logger } from './log.js';
import { describeError } from './errors.js';

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Graceful stop, first half: stop accepting new work (close listeners) and resolve once the work in flight is
   * done, or at `deadline` (epoch ms) at the latest; stop() then ends whatever is left. Optional.
   */
  drain?(deadline: number): Promise<void>;
}

export class ServiceGroup {
  private readonly started: Service[] = [];

  constructor(private readonly services: readonly Service[], private readonly log: Logger) {}

  /** The services' names in start order. */
  get names(): string[] {
    return this.services.map((s) => s.name);
  }

  /** Starts every service in order; on a failure, stops those already started (in reverse) and rethrows. */
  async start(): Promise<void> {
    for (const s of this.services) {
      try {
        await s.start();
      } catch (err) {
        this.log.error('service failed to start', { service: s.name, err: describeError(err) });
        await this.stop();
        throw err;
      }
      this.started.push(s);
      this.log.info('service started', { service: s.name });
    }
  }

  /**
   * Stops started services in reverse order. Never throws; returns false if any stop failed or ran past the deadline.
   * With `drainMs` > 0, every service that can drain first stops accepting, all at once, and the work in flight
   * (TFTP transfers, HTTP downloads) gets up to `drainMs` to finish before the stops begin.
   */
  async stop(deadlineMs = 10_000, drainMs = 0): Promise<boolean> {
    let ok = true;
    if (drainMs > 0) {
      const deadline = Date.now() + drainMs;
      const t0 = Date.now();
      const draining = this.started.filter((s) => s.drain !== undefined);
      await Promise.all(
        draining.map(async (s) => {
          try {
            await s.drain!(deadline);
          } catch (err) {
            ok = false;
            this.log.error('service failed to drain', { service: s.name, err: describeError(err) });
          }
        }),
      );
      this.log.info('drained', { services: draining.map((s) => s.name), ms: Date.now() - t0, deadlineMs: drainMs });
    }
    while (this.started.length > 0) {
      const s = this.started.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          s.stop(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`stop exceeded ${deadlineMs} ms`)), deadlineMs);
          }),
        ]);
        this.log.info('service stopped', { service: s.name });
      } catch (err) {
        ok = false;
        this.log.error('service failed to stop', { service: s.name, err: describeError(err) });
      } finally {
        clearTimeout(timer);
      }
    }
    return ok;
  }
}
