import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnsweredExchanges } from '../../src/dhcp/exchanges.js';

void test('an answered exchange is known by MAC and xid until its TTL', () => {
  const ex = new AnsweredExchanges(1000, 8);
  ex.add('52:54:00:00:00:01', 0xdeadbeef, 0);
  assert.equal(ex.has('52:54:00:00:00:01', 0xdeadbeef, 1000), true);
  assert.equal(ex.has('52:54:00:00:00:01', 0xdeadbeef, 1001), false, 'expired');
  assert.equal(ex.has('52:54:00:00:00:02', 0xdeadbeef, 10), false, 'another MAC on the same xid');
  assert.equal(ex.has('52:54:00:00:00:01', 1, 10), false, 'another xid');
});

void test('the table keeps the newest answer per slot and stays bounded under a flood', () => {
  const ex = new AnsweredExchanges(60_000, 4);
  assert.throws(() => new AnsweredExchanges(60_000, 6), RangeError);
  const mac = (i: number): string => `02:00:00:00:${((i >> 8) & 0xff).toString(16)}:${(i & 0xff).toString(16)}`;
  for (let i = 0; i < 10_000; i++) ex.add(mac(i), i, i);
  assert.equal(ex.size, 4);
  assert.equal(ex.has(mac(9999), 9999, 10_000), true);
  assert.equal(ex.has(mac(9995), 9995, 10_000), false, 'overwritten by a newer answer in its slot');
  // A retransmitted DISCOVER (same xid) re-answered keeps one slot; an xid above 2^31 works like any other.
  ex.add('aa:aa:aa:aa:aa:aa', 0xfffffff1, 1);
  ex.add('aa:aa:aa:aa:aa:aa', 0xfffffff1, 2);
  assert.equal(ex.has('aa:aa:aa:aa:aa:aa', 0xfffffff1, 5), true);
  assert.equal(ex.size, 4);
});
