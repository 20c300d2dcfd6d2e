// Write budgets for unauthenticated traffic (issue 14 item 3): what a client that proves nothing (a DHCP packet, a
// script fetch, an asset request, a refused token) may cost the registry. A token bucket per key (a MAC, a client
// address, or one global key for discoveries): `perMinute` writes, refilled continuously, bursts up to `perMinute`.
// Over budget the request is still answered; only its timeline write is skipped (and counted). Bounded: at most
// `capacity` keys are tracked; the least recently used is forgotten (it starts again with a full bucket).

interface Bucket {
  tokens: number;
  at: number;
}

export class WriteBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly capacity = 4096) {}

  /** True (and one write taken) when `key` may write now, at `perMinute`. */
  take(key: string, nowMs: number, perMinute: number): boolean {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: perMinute, at: nowMs };
      if (this.buckets.size >= this.capacity) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
    } else {
      this.buckets.delete(key);
      b.tokens = Math.min(perMinute, b.tokens + ((nowMs - b.at) * perMinute) / 60_000);
      b.at = nowMs;
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** What the policy reports to /metrics (src/appliance/metrics.ts implements it; no-op by default). */
export interface BootMetricsPort {
  /** A timeline write skipped by a budget; `kind`: 'dhcp' | 'script' | 'asset' | 'tftp' | 'phone-home' | 'discovery'. */
  writeLimited(kind: string): void;
  /** Discovered machines removed by the discovered-machine cap (oldest first). */
  discoveredAgedOut(n: number): void;
}

export const noBootMetrics: BootMetricsPort = { writeLimited: () => undefined, discoveredAgedOut: () => undefined };

export interface WriteLimits {
  /** Unauthenticated timeline writes per MAC per minute. */
  perMac: number;
  /** Unauthenticated timeline writes per client address per minute. */
  perAddress: number;
  /** New discovered machines per minute, all MACs together. */
  discoveries: number;
}

export const DEFAULT_WRITE_LIMITS: WriteLimits = { perMac: 60, perAddress: 120, discoveries: 120 };
/** A limit's warning is logged at most this often (with how many writes were skipped since the last one). */
const WARN_INTERVAL_MS = 60_000;

/** The policy's budgets and their reporting: one per daemon, shared by the policy's parts. */
export class WriteGate {
  private readonly perMac: WriteBudget;
  private readonly perAddress: WriteBudget;
  private readonly discoveries: WriteBudget;
  private readonly warned = new Map<string, { at: number; skipped: number }>();

  /** `limits` is read at each use (a reload may change it); the buckets survive a reload. */
  constructor(
    private readonly limits: () => WriteLimits,
    private readonly metrics: BootMetricsPort,
    private readonly warn: (msg: string, fields: Record<string, unknown>) => void,
  ) {
    this.perMac = new WriteBudget();
    this.perAddress = new WriteBudget();
    this.discoveries = new WriteBudget(1);
  }

  /** May an unauthenticated `kind` write for `mac` (from `address`, when known) happen now? */
  allow(kind: string, mac: string, address: string | null, nowMs: number): boolean {
    const l = this.limits();
    if ((address === null || this.perAddress.take(address, nowMs, l.perAddress)) && this.perMac.take(mac, nowMs, l.perMac)) return true;
    this.limited(kind, nowMs, { mac, ...(address !== null ? { client: address } : {}) });
    return false;
  }

  /** May a new discovered machine be recorded now? */
  discovery(mac: string, nowMs: number): boolean {
    if (this.discoveries.take('all', nowMs, this.limits().discoveries)) return true;
    this.limited('discovery', nowMs, { mac });
    return false;
  }

  /** The cap removed `n` discovered machines: counted, and warned about at most once a minute. */
  agedOut(n: number, cap: number, nowMs: number): void {
    this.metrics.discoveredAgedOut(n);
    this.rateLimitedWarn('discovered-cap', nowMs, n, 'discovered-machine cap reached: the oldest unadopted machines were removed', { cap });
  }

  private limited(kind: string, nowMs: number, fields: Record<string, unknown>): void {
    this.metrics.writeLimited(kind);
    this.rateLimitedWarn(kind, nowMs, 1, 'unauthenticated writes over budget: timeline events skipped', { kind, ...fields });
  }

  private rateLimitedWarn(key: string, nowMs: number, n: number, msg: string, fields: Record<string, unknown>): void {
    const w = this.warned.get(key);
    if (w !== undefined && nowMs - w.at < WARN_INTERVAL_MS) {
      w.skipped += n;
      return;
    }
    this.warned.set(key, { at: nowMs, skipped: 0 });
    this.warn(msg, { ...fields, count: n + (w?.skipped ?? 0) });
  }
}
