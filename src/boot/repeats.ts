// Collapses bursts of identical, state-free timeline events (an installed machine fetching its local-boot script in
// a loop, a misconfigured client hammering /ipxe/<mac>): the first is written, repeats within `windowMs` are only
// counted, and the next written one carries `repeats: n`. Keeps the timeline readable and the registry's write rate
// bounded by machines, not by requests. Bounded: at most `capacity` keys are tracked, each with its few kinds.

interface Slot {
  until: number;
  suppressed: number;
}

export class RepeatGate {
  /** key (a MAC) -> kind (an event variant) -> window. Two levels, so no key string is built per call. */
  private readonly seen = new Map<string, Map<string, Slot>>();

  constructor(
    private readonly windowMs = 2000,
    private readonly capacity = 4096,
  ) {}

  /**
   * null: a repeat of (key, kind) inside the window, do not write. Otherwise write, adding `repeats` (how many were
   * folded since the last written one) when it is non-zero.
   */
  admit(key: string, kind: string, nowMs: number): { repeats: number } | null {
    let kinds = this.seen.get(key);
    const s = kinds?.get(kind);
    if (s !== undefined && nowMs < s.until) {
      s.suppressed++;
      return null;
    }
    const repeats = s?.suppressed ?? 0;
    if (kinds === undefined) {
      kinds = new Map();
      this.seen.set(key, kinds);
      if (this.seen.size > this.capacity) {
        const oldest = this.seen.keys().next();
        if (!oldest.done) this.seen.delete(oldest.value);
      }
    } else {
      // Most recently written key last: eviction takes the key written longest ago.
      this.seen.delete(key);
      this.seen.set(key, kinds);
    }
    kinds.set(kind, { until: nowMs + this.windowMs, suppressed: 0 });
    return { repeats };
  }
}
