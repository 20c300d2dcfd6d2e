// Exchanges pxed answered: (MAC, xid) pairs of the proxy OFFERs and ACKs we sent, kept for a short while. A REQUEST
// that a PXE client sends to the LAN's DHCP server carries the xid of its DISCOVER, so its option 50 is worth a
// hint only when it continues one of these exchanges; a REQUEST out of nowhere (anyone on the LAN can forge one)
// tells us nothing (docs/protocol.md §2.5).

/** How long an answered exchange is remembered (a PXE client REQUESTs within seconds of the OFFER). */
export const EXCHANGE_TTL_MS = 60_000;
/** Bound on remembered exchanges; the oldest go first (a DISCOVER flood cannot grow memory). */
export const EXCHANGE_MAX = 4096;

export class AnsweredExchanges {
  /** key "mac|xid" -> time answered; Map order is insertion order, so the first entry is the oldest. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = EXCHANGE_TTL_MS,
    private readonly max = EXCHANGE_MAX,
  ) {}

  /** Remembers that we answered `mac` in exchange `xid` at `now`. */
  add(mac: string, xid: number, now: number): void {
    const key = `${mac}|${xid}`;
    this.seen.delete(key);
    this.seen.set(key, now);
    while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Did we answer `mac` in exchange `xid` within the TTL? */
  has(mac: string, xid: number, now: number): boolean {
    const at = this.seen.get(`${mac}|${xid}`);
    return at !== undefined && now - at <= this.ttlMs;
  }

  get size(): number {
    return this.seen.size;
  }
}
