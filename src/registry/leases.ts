// The leases table: the DHCP server's address leases, one row per IP.

import { LEASE_STATES, type Lease } from '../model/lease.js';
import { parseMacOrThrow } from '../net/mac.js';
import { invalid } from './checks.js';
import { rowToLease, type LeaseRow } from './rows.js';
import type { SqliteStore } from './store.js';

export function leaseGet(s: SqliteStore, ip: string): Lease | null {
  return s.read('leaseGet', () => {
    const r = s.stmt<[string], LeaseRow>('SELECT * FROM leases WHERE ip = ?').get(ip);
    return r ? rowToLease(r) : null;
  });
}

/** The MAC's most recently updated lease. */
export function leaseForMac(s: SqliteStore, mac: string): Lease | null {
  const m = parseMacOrThrow(mac);
  return s.read('leaseForMac', () => {
    const r = s.stmt<[string], LeaseRow>('SELECT * FROM leases WHERE mac = ? ORDER BY updated_at DESC, ip LIMIT 1').get(m);
    return r ? rowToLease(r) : null;
  });
}

export function leaseList(s: SqliteStore): Lease[] {
  return s.read('leaseList', () => s.stmt<[], LeaseRow>('SELECT * FROM leases ORDER BY ip').all().map(rowToLease));
}

export function leaseUpsert(s: SqliteStore, lease: Lease): void {
  const mac = parseMacOrThrow(lease.mac);
  if (!(LEASE_STATES as readonly string[]).includes(lease.state)) throw invalid(`lease state must be one of ${LEASE_STATES.join(', ')}`);
  s.write('leaseUpsert', null, () => {
    s.stmt(
      `INSERT INTO leases (ip, mac, hostname, state, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (ip) DO UPDATE SET mac = excluded.mac, hostname = excluded.hostname, state = excluded.state,
         expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    ).run(lease.ip, mac, lease.hostname, lease.state, lease.expiresAt, lease.updatedAt);
  });
}

export function leaseDelete(s: SqliteStore, ip: string): void {
  s.write('leaseDelete', null, () => {
    s.stmt('DELETE FROM leases WHERE ip = ?').run(ip);
  });
}
