// Address allocation for full DHCP mode (RFC 2131 §4.3.1), over a LeaseStore (ports.ts). No I/O of its own: the
// store is the SQLite registry in the daemon and a Map in unit tests.

import type { Lease, LeaseStore } from './ports.js';
import { formatIpv4 as intToIp, ipv4ToInt as ipToInt } from '../net/ipv4.js';

export type { Lease, LeaseStore };

/** A fixed address for a MAC (full DHCP mode). */
export interface Reservation {
  mac: string;
  ip: string;
  hostname?: string | null;
}

export interface PoolOptions {
  /** First and last address of the dynamic pool (inclusive). */
  poolStart: string;
  poolEnd: string;
  leases: LeaseStore;
  reservations?: () => readonly Reservation[];
  /** Addresses never handed out (our own). */
  exclude?: readonly string[];
}


export class LeasePool {
  constructor(private readonly o: PoolOptions) {}

  reservationFor(mac: string): Reservation | null {
    return this.o.reservations?.().find((r) => r.mac === mac) ?? null;
  }

  inPool(ip: string): boolean {
    const n = ipToInt(ip);
    return n >= ipToInt(this.o.poolStart) && n <= ipToInt(this.o.poolEnd) && !(this.o.exclude ?? []).includes(ip);
  }

  /** Held by another MAC: an unexpired offered/bound/declined lease. Released and expired leases are free. */
  private heldByOther(lease: Lease | null, mac: string, now: number): boolean {
    if (!lease || lease.mac === mac) return false;
    if (lease.state === 'released') return false;
    return Date.parse(lease.expiresAt) > now;
  }

  /** May `mac` use `ip`? Its reservation, or a pool address that nobody else holds or has reserved. */
  canLease(mac: string, ip: string, now: number): boolean {
    const mine = this.reservationFor(mac);
    if (mine) return mine.ip === ip;
    if (!this.inPool(ip)) return false;
    if ((this.o.reservations?.() ?? []).some((r) => r.ip === ip)) return false;
    return !this.heldByOther(this.o.leases.leaseGet(ip), mac, now);
  }

  /**
   * The address for a DISCOVER: the reservation; else this MAC's last lease; else the requested address; else a pool
   * address never leased; else one whose lease expired or was released. null when the pool is exhausted.
   */
  allocate(mac: string, requested: string | null, now: number): string | null {
    const mine = this.reservationFor(mac);
    if (mine) return mine.ip;
    const last = this.o.leases.leaseForMac(mac);
    if (last && this.canLease(mac, last.ip, now)) return last.ip;
    if (requested && this.canLease(mac, requested, now)) return requested;
    const leases = new Map(this.o.leases.leaseList().map((l) => [l.ip, l]));
    const reserved = new Set((this.o.reservations?.() ?? []).map((r) => r.ip));
    let reusable: string | null = null;
    for (let n = ipToInt(this.o.poolStart); n <= ipToInt(this.o.poolEnd); n++) {
      const ip = intToIp(n);
      if (reserved.has(ip) || !this.inPool(ip)) continue;
      const l = leases.get(ip);
      if (!l) return ip;
      if (reusable === null && !this.heldByOther(l, mac, now)) reusable = ip;
    }
    return reusable;
  }

  record(ip: string, mac: string, state: Lease['state'], seconds: number, hostname: string | null, now: number): void {
    this.o.leases.leaseUpsert({
      ip,
      mac,
      hostname,
      state,
      expiresAt: new Date(now + seconds * 1000).toISOString(),
      updatedAt: new Date(now).toISOString(),
    });
  }
}

/** An in-memory LeaseStore (unit tests, and a daemon run without a registry). */
export class MemoryLeaseStore implements LeaseStore {
  private readonly byIp = new Map<string, Lease>();
  leaseGet(ip: string): Lease | null {
    return this.byIp.get(ip) ?? null;
  }
  leaseForMac(mac: string): Lease | null {
    let best: Lease | null = null;
    for (const l of this.byIp.values()) if (l.mac === mac && (!best || l.updatedAt >= best.updatedAt)) best = l;
    return best;
  }
  leaseList(): Lease[] {
    return [...this.byIp.values()].sort((a, b) => ipToInt(a.ip) - ipToInt(b.ip));
  }
  leaseUpsert(lease: Lease): void {
    this.byIp.set(lease.ip, { ...lease });
  }
  leaseDelete(ip: string): void {
    this.byIp.delete(ip);
  }
}
