// src/registry/leases.ts: upsert, get, list by IP, newest per MAC, delete.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Lease } from '../../src/registry/types.js';
import { openRegistry, type SqliteRegistry } from '../../src/registry/sqlite.js';
import { code, fakeClock, MAC, MAC2 } from './helpers.js';

void describe('leases', () => {
  let reg: SqliteRegistry;
  beforeEach(() => {
    reg?.close();
    reg = openRegistry(':memory:', { now: fakeClock() });
  });

  const lease = (ip: string, mac: string, updatedAt: string, state: Lease['state'] = 'bound'): Lease => ({
    ip,
    mac,
    hostname: 'h',
    state,
    expiresAt: '2026-03-01T00:00:00.000Z',
    updatedAt,
  });

  void it('upserts, gets, lists by IP, finds the newest per MAC, deletes', () => {
    reg.leaseUpsert(lease('10.0.0.9', 'AA-BB-CC-DD-EE-01', '2026-01-01T00:00:01.000Z', 'offered'));
    reg.leaseUpsert(lease('10.0.0.10', MAC, '2026-01-01T00:00:02.000Z'));
    reg.leaseUpsert(lease('10.0.0.11', MAC2, '2026-01-01T00:00:03.000Z'));
    assert.equal(reg.leaseGet('10.0.0.9')!.mac, MAC);
    assert.equal(reg.leaseForMac(MAC)!.ip, '10.0.0.10');
    reg.leaseUpsert(lease('10.0.0.9', MAC, '2026-01-01T00:00:04.000Z', 'bound'));
    assert.equal(reg.leaseForMac(MAC)!.ip, '10.0.0.9');
    assert.equal(reg.leaseGet('10.0.0.9')!.state, 'bound');
    assert.deepEqual(reg.leaseList().map((l) => l.ip), ['10.0.0.10', '10.0.0.11', '10.0.0.9']);
    reg.leaseDelete('10.0.0.9');
    reg.leaseDelete('10.0.0.9');
    assert.equal(reg.leaseGet('10.0.0.9'), null);
    assert.equal(reg.leaseForMac('aa:bb:cc:dd:ee:77'), null);
    assert.throws(() => reg.leaseUpsert(lease('10.0.0.1', MAC, 'x', 'stolen' as never)), code('REGISTRY_INVALID'));
  });
});
