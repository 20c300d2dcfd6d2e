// IP -> MAC pairs learned from DHCP (4011 ciaddr, option 50, leases) and from iPXE script requests, so that TFTP
// transfers and asset downloads (which only carry an address) land on the right machine's timeline.
// Bounded: the least recently set pair is dropped first.

export class IpMacMap {
  private readonly map = new Map<string, string>();
  /** The key set last (the Map's last entry). */
  private newest: string | null = null;

  constructor(private readonly capacity = 4096) {}

  set(ip: string, mac: string): void {
    // Setting the newest pair again changes nothing (the common case: one client fetching in a loop).
    if (ip === this.newest && this.map.get(ip) === mac) return;
    this.newest = ip;
    this.map.delete(ip);
    this.map.set(ip, mac);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }

  get(ip: string): string | undefined {
    return this.map.get(ip);
  }

  get size(): number {
    return this.map.size;
  }
}
