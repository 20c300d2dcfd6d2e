// Exchanges pxed answered: (MAC, xid) pairs of the proxy OFFERs and ACKs we sent, kept for a short while. A REQUEST
// that a PXE client sends to the LAN's DHCP server carries the xid of its DISCOVER, so its option 50 is worth a
// hint only when it continues one of these exchanges; a REQUEST out of nowhere (anyone on the LAN can forge one)
// tells us nothing (docs/protocol.md §2.5).
//
// This sits on the proxy OFFER hot path, so it is a fixed ring (no per-packet key strings, no eviction iterator):
// the newest `max` answers are remembered; an xid maps to the slot of its newest answer.

/** How long an answered exchange is remembered (a PXE client REQUESTs within seconds of the OFFER). */
export const EXCHANGE_TTL_MS = 60_000;
/** Bound on remembered exchanges; the oldest go first (a DISCOVER flood cannot grow memory). */
export const EXCHANGE_MAX = 4096;

export class AnsweredExchanges {
  private readonly xids: Uint32Array;
  private readonly macs: string[];
  private readonly times: Float64Array;
  /** xid -> slot of the newest answer with that xid. */
  private readonly slotOf = new Map<number, number>();
  private next = 0;
  private filled = 0;

  constructor(
    private readonly ttlMs = EXCHANGE_TTL_MS,
    private readonly max = EXCHANGE_MAX,
  ) {
    this.xids = new Uint32Array(max);
    this.macs = new Array<string>(max).fill('');
    this.times = new Float64Array(max);
  }

  /** Remembers that we answered `mac` in exchange `xid` at `now` (the oldest answer makes room). */
  add(mac: string, xid: number, now: number): void {
    const slot = this.next;
    this.next = slot + 1 === this.max ? 0 : slot + 1;
    if (this.filled === this.max) {
      const old = this.xids[slot]!;
      if (this.slotOf.get(old) === slot) this.slotOf.delete(old);
    } else {
      this.filled++;
    }
    this.xids[slot] = xid;
    this.macs[slot] = mac;
    this.times[slot] = now;
    this.slotOf.set(xid, slot);
  }

  /** Did we answer `mac` in exchange `xid` within the TTL? (Two MACs on one xid: the newer answer counts.) */
  has(mac: string, xid: number, now: number): boolean {
    const slot = this.slotOf.get(xid);
    return slot !== undefined && this.macs[slot] === mac && now - this.times[slot]! <= this.ttlMs;
  }

  /** Distinct xids remembered (at most `max`). */
  get size(): number {
    return this.slotOf.size;
  }
}
