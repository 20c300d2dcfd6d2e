// LeasePool over an in-memory store: allocation order, reservations, expiry, release and decline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeasePool, MemoryLeaseStore, type Reservation } from '../../src/dhcp/leases.js';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const C = '52:54:00:00:00:0c';

function pool(reservations: Reservation[] = []): { p: LeasePool; s: MemoryLeaseStore } {
  const s = new MemoryLeaseStore();
  return { p: new LeasePool({ poolStart: '10.0.0.10', poolEnd: '10.0.0.12', leases: s, reservations: () => reservations, exclude: ['10.0.0.11'] }), s };
}

void test('allocation: first never-used address, then the same one again for the same MAC', () => {
  const { p } = pool();
  const now = Date.now();
  const ip = p.allocate(A, null, now)!;
  assert.equal(ip, '10.0.0.10');
  p.record(ip, A, 'bound', 60, null, now);
  assert.equal(p.allocate(A, null, now), '10.0.0.10');
  assert.equal(p.allocate(B, '10.0.0.10', now), '10.0.0.12'); // requested but held; .11 is excluded
  p.record('10.0.0.12', B, 'offered', 60, null, now);
  assert.equal(p.allocate(C, null, now), null); // exhausted
});

void test('expired and released leases are reused, but never-used addresses come first', () => {
  const { p } = pool();
  const now = Date.now();
  p.record('10.0.0.10', A, 'bound', 60, null, now);
  assert.equal(p.allocate(B, null, now + 61_000), '10.0.0.12');
  p.record('10.0.0.12', B, 'released', 0, null, now);
  assert.equal(p.allocate(C, null, now), '10.0.0.12');
  assert.equal(p.canLease(C, '10.0.0.10', now), false);
  assert.equal(p.canLease(C, '10.0.0.10', now + 61_000), true);
});

void test('declined addresses stay out until their hold expires', () => {
  const { p } = pool();
  const now = Date.now();
  p.record('10.0.0.10', A, 'declined', 600, null, now);
  assert.equal(p.allocate(B, null, now), '10.0.0.12');
});

void test('reservations: the MAC gets its address; nobody else gets it; out-of-pool reservations work', () => {
  const { p } = pool([{ mac: A, ip: '10.0.0.12', hostname: 'a' }, { mac: B, ip: '10.0.0.50' }]);
  const now = Date.now();
  assert.equal(p.allocate(A, null, now), '10.0.0.12');
  assert.equal(p.allocate(B, null, now), '10.0.0.50');
  assert.equal(p.canLease(B, '10.0.0.10', now), false);
  assert.equal(p.allocate(C, '10.0.0.12', now), '10.0.0.10');
  assert.equal(p.canLease(C, '10.0.0.12', now), false);
  assert.equal(p.reservationFor(A)?.hostname, 'a');
});

void test('MemoryLeaseStore: leaseForMac returns the latest', () => {
  const s = new MemoryLeaseStore();
  s.leaseUpsert({ ip: '10.0.0.1', mac: A, hostname: null, state: 'released', expiresAt: '2020-01-01T00:00:00.000Z', updatedAt: '2020-01-01T00:00:00.000Z' });
  s.leaseUpsert({ ip: '10.0.0.2', mac: A, hostname: null, state: 'bound', expiresAt: '2020-01-01T00:00:00.000Z', updatedAt: '2021-01-01T00:00:00.000Z' });
  assert.equal(s.leaseForMac(A)?.ip, '10.0.0.2');
  s.leaseDelete('10.0.0.2');
  assert.equal(s.leaseForMac(A)?.ip, '10.0.0.1');
  assert.equal(s.leaseList().length, 1);
});
