// Issue 14 item 3: the registry's bounded pruning — the discovered-machine cap and event retention by count and age,
// each call at most one batch.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openRegistry } from '../../src/registry/sqlite.js';

function clockAt(iso: string): { t: number; now: () => Date } {
  const c = { t: Date.parse(iso), now: () => new Date(c.t) };
  return c;
}

void test('machinePruneDiscovered keeps the newest `keep` discovered machines and never touches registered ones', () => {
  const clock = clockAt('2026-12-01T00:00:00.000Z');
  const r = openRegistry(':memory:', { now: clock.now });
  try {
    r.machineCreate({ mac: '52:54:00:00:00:01', host: 'h1', state: 'registered' });
    for (let i = 0; i < 10; i++) {
      clock.t += 1000;
      r.machineCreate({ mac: `02:00:00:00:00:${(16 + i).toString(16)}`, host: null, state: 'discovered' });
    }
    assert.deepEqual(r.machinePruneDiscovered(20), []);
    const gone = r.machinePruneDiscovered(4);
    assert.deepEqual(gone, ['02:00:00:00:00:10', '02:00:00:00:00:11', '02:00:00:00:00:12', '02:00:00:00:00:13', '02:00:00:00:00:14', '02:00:00:00:00:15'], 'oldest first');
    assert.equal(r.machineList({ state: 'discovered' }).length, 4);
    assert.equal(r.machineGet('02:00:00:00:00:10'), null, 'read cache dropped');
    assert.equal(r.eventList('02:00:00:00:00:19').length, 1);
    assert.equal(r.machineGet('52:54:00:00:00:01')?.state, 'registered');
    assert.throws(() => r.machinePruneDiscovered(0), /positive integer/);
  } finally {
    r.close();
  }
});

void test('eventPruneMachine keeps the newest `keep` events, at most `batch` deleted per call', () => {
  const r = openRegistry(':memory:');
  try {
    const mac = '52:54:00:00:00:02';
    r.machineCreate({ mac, host: 'h2', state: 'registered' }); // + 1 state event
    for (let i = 0; i < 99; i++) r.eventAppend(mac, { kind: 'error', detail: { reason: `e${i}` } });
    r.machineCreate({ mac: '52:54:00:00:00:03', host: 'h3', state: 'registered' });
    assert.equal(r.eventPruneMachine(mac, 30, 50), 50);
    assert.equal(r.eventPruneMachine(mac, 30, 50), 20);
    assert.equal(r.eventPruneMachine(mac, 30, 50), 0);
    const left = r.eventList(mac);
    assert.equal(left.length, 30);
    assert.equal(left.at(-1)?.detail.reason, 'e98', 'the newest stay');
    assert.equal(r.eventList('52:54:00:00:00:03').length, 1, 'other machines untouched');
  } finally {
    r.close();
  }
});

void test('eventPruneBefore deletes old events among the oldest `batch` only', () => {
  const clock = clockAt('2026-01-01T00:00:00.000Z');
  const r = openRegistry(':memory:', { now: clock.now });
  try {
    const mac = '52:54:00:00:00:04';
    r.machineCreate({ mac, host: 'h4', state: 'registered' });
    for (let i = 0; i < 30; i++) r.eventAppend(mac, { kind: 'error', detail: { reason: 'old' } });
    clock.t += 100 * 86_400_000;
    for (let i = 0; i < 5; i++) r.eventAppend(mac, { kind: 'error', detail: { reason: 'new' } });
    const cutoff = new Date(clock.t - 90 * 86_400_000).toISOString();
    assert.equal(r.eventPruneBefore(cutoff, 20), 20);
    assert.equal(r.eventPruneBefore(cutoff, 20), 11);
    assert.equal(r.eventPruneBefore(cutoff, 20), 0);
    assert.deepEqual(r.eventList(mac).map((e) => e.detail.reason), ['new', 'new', 'new', 'new', 'new']);
  } finally {
    r.close();
  }
});
