// IP ↔ MAC attribution: TFTP transfers and asset downloads carry only an address; this puts them on the right
// machine's timeline. Pairs come from DHCP observations and script requests (IpMacMap), then leases, then a
// rate-limited scan of the registry's ip column.

import { parseMac } from '../net/mac.js';
import { IpMacMap } from './ipmap.js';
import type { PolicyContext } from './settings.js';
import type { AddressObservation } from './types.js';

/** How often an unknown address may cost a registry scan. */
const SCAN_INTERVAL_MS = 5000;

export class Attribution {
  private readonly ipMap = new IpMacMap();
  private ipScanAt = -Infinity;

  constructor(private readonly ctx: PolicyContext) {}

  /** `mac` just used `ip` (a script request). */
  note(ip: string, mac: string): void {
    this.ipMap.set(ip, mac);
  }

  /**
   * A DHCP observation: remembered for attribution. Option 50 of a REQUEST is only a hint (a spoofed REQUEST could
   * name any address), so only ciaddr and lease observations update the machine's ip column.
   */
  observed(obs: AddressObservation): void {
    const mac = parseMac(obs.mac);
    if (mac === null) return;
    this.ipMap.set(obs.ip, mac);
    if (obs.source === 'request-opt50') return;
    const machine = this.ctx.registry.machineGet(mac);
    if (machine !== null && machine.ip !== obs.ip) this.ctx.registry.machineUpdate(mac, { ip: obs.ip });
  }

  /** The MAC that last used `ip`: DHCP observations and script requests, then leases, then the registry's ip column. */
  macForIp(ip: string): string | null {
    const hit = this.ipMap.get(ip);
    if (hit !== undefined) return hit;
    const lease = this.ctx.registry.leaseGet(ip);
    if (lease !== null) {
      this.ipMap.set(ip, lease.mac);
      return lease.mac;
    }
    // Registry scan, at most every 5 s (an unknown address asking for assets must not cost a scan per request).
    const now = this.ctx.clock.now().getTime();
    if (now - this.ipScanAt < SCAN_INTERVAL_MS) return null;
    this.ipScanAt = now;
    let found: string | null = null;
    for (const m of this.ctx.registry.machineList()) {
      if (m.ip === null) continue;
      if (this.ipMap.get(m.ip) === undefined) this.ipMap.set(m.ip, m.mac);
      if (m.ip === ip) found = m.mac;
    }
    return found;
  }
}
