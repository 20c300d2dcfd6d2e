// Exchanges pxed answered: (MAC, xid) pairs of the proxy OFFERs and ACKs we sent, kept for a short while. A REQUEST
// that a PXE client sends to the LAN's DHCP server carries the xid of its DISCOVER, so its option 50 is worth a
// hint only when it continues one of these exchanges; a REQUEST out of nowhere (anyone on the LAN can forge one)
// tells us nothing (docs/protocol.md §2.5).
//
// This sits on the proxy OFFER hot path, so it is a direct-mapped table (no Map, no per-packet key string): an
// exchange lives in slot `xid mod slots` until a newer answer lands there. Clients pick xids at random, so that is
// a bounded memory of the recent answers; a DISCOVER flood overwrites slots, it cannot grow memory.

/** How long an answered exchange is remembered (a PXE client REQUESTs within seconds of the OFFER). */
export const EXCHANGE_TTL_MS = 60_000;
/** Slots in the table (a power of two). */
export const EXCHANGE_SLOTS = 8192;

export class AnsweredExchanges {
  private readonly xids: Uint32Array;
  /** '' = empty slot. */
  private readonly macs: string[];
  private readonly times: Float64Array;
  private readonly mask: number;
  private used = 0;

  constructor(
    private readonly ttlMs = EXCHANGE_TTL_MS,
    slots = EXCHANGE_SLOTS,
  ) {
    if (slots < 1 || (slots & (slots - 1)) !== 0) throw new RangeError('slots must be a power of two');
    this.mask = slots - 1;
    this.xids = new Uint32Array(slots);
    this.macs = new Array<string>(slots).fill('');
    this.times = new Float64Array(slots);
  }

  /** Remembers that we answered `mac` in exchange `xid` at `now` (replacing whatever held that slot). */
  add(mac: string, xid: number, now: number): void {
    const slot = xid & this.mask;
    if (this.macs[slot] === '') this.used++;
    this.xids[slot] = xid;
    this.macs[slot] = mac;
    this.times[slot] = now;
  }

  /** Did we answer `mac` in exchange `xid` within the TTL? */
  has(mac: string, xid: number, now: number): boolean {
    const slot = xid & this.mask;
    return this.xids[slot] === xid >>> 0 && this.macs[slot] === mac && now - this.times[slot]! <= this.ttlMs;
  }

  /** Slots holding an exchange (at most the table size). */
  get size(): number {
    return this.used;
  }
}
