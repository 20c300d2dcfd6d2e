// Collapses bursts of identical, state-free timeline events (an installed machine fetching its local-boot script in
// a loop, a misconfigured client hammering /ipxe/<mac>): the first is written, repeats within `windowMs` are only
// counted, and the next written one carries `repeats: n`. Keeps the timeline readable and the registry's write rate
// bounded by machines, not by requests. Bounded: at most `capacity` keys are tracked.

export class RepeatGate {
  private readonly seen = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly windowMs = 2000,
    private readonly capacity = 4096,
  ) {}

  /**
   * null: a repeat inside the window, do not write. Otherwise write, adding `repeats` (how many were folded
   * since the last written one) when it is non-zero.
   */
  admit(key: string, nowMs: number): { repeats: number } | null {
    const s = this.seen.get(key);
    if (s !== undefined && nowMs < s.until) {
      s.suppressed++;
      return null;
    }
    const repeats = s?.suppressed ?? 0;
    this.seen.delete(key);
    this.seen.set(key, { until: nowMs + this.windowMs, suppressed: 0 });
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    return { repeats };
  }
}
