// IP -> MAC pairs learned from DHCP (4011 ciaddr, option 50, leases) and from iPXE script requests, so that TFTP
// transfers and asset downloads (which only carry an address) land on the right machine's timeline.
// Bounded: past `capacity` addresses, the address learned first is dropped (a hint cache: a dropped pair is learned
// again from the machine's next DHCP packet or script request).

export class IpMacMap {
  private readonly map = new Map<string, string>();

  constructor(private readonly capacity = 4096) {}

  set(ip: string, mac: string): void {
    // Hot path (every script request): a known pair is one lookup; a known address with a new MAC keeps its place.
    if (this.map.get(ip) === mac) return;
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
