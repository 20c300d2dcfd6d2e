// A service's timer and its registry-event subscription, owned together: taken in start(), released in stop()
// (the watchdog and event retention both run this way).

export class PeriodicSubscription {
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  /** Subscribes, then runs `tick` every `intervalMs` (unref'd: it never keeps the process alive). Idempotent. */
  start(subscribe: () => () => void, tick: () => void, intervalMs: number): void {
    if (this.timer !== null) return;
    this.unsubscribe = subscribe();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}
