// Issue 14 item 3: write budgets and folding of unauthenticated timeline writes, at the policy seam.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WriteBudget } from '../../src/boot/budget.js';
import { BootPolicy } from '../../src/boot/policy.js';
import { silentLogger } from '../../src/log.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import { FakeClock, MAC, client, hostSpec, provisioningOf, query, settings, stubProfiles, tokenOf } from './fixtures.js';

void test('a write budget: perMinute at once, then refilled with time; keys are independent', () => {
  const b = new WriteBudget(2);
  const takes = (key: string, t: number, n: number): number => Array.from({ length: n }, () => b.take(key, t, 10)).filter(Boolean).length;
  assert.equal(takes('a', 0, 20), 10);
  assert.equal(takes('b', 0, 20), 10);
  assert.equal(takes('a', 30_000, 20), 5, 'half a minute refills half');
  assert.equal(takes('c', 0, 1), 1);
  assert.equal(takes('b', 30_000, 20), 10, 'b, used longest ago, was forgotten (capacity 2): a full bucket again');
  assert.equal(takes('c', 0, 20), 9, 'c is still tracked (one taken before)');
});

function policyRig(over: Parameters<typeof settings>[0] = {}) {
  const clock = new FakeClock();
  const registry = openRegistry(':memory:', { now: () => clock.now() });
  const limited: string[] = [];
  let agedOut = 0;
  const policy = new BootPolicy({
    registry,
    provisioning: provisioningOf([hostSpec('ubu1', 'ubuntu')]),
    settings: settings(over),
    osProfiles: stubProfiles,
    clock,
    logger: silentLogger,
    metrics: { writeLimited: (k) => limited.push(k), discoveredAgedOut: (n) => (agedOut += n) },
  });
  return { clock, registry, policy, limited, agedOut: () => agedOut };
}

void test('asset answers without bytes are folded; asset events stay within the per-address budget', () => {
  const r = policyRig();
  try {
    r.registry.machineCreate({ mac: MAC, host: 'ubu1', state: 'registered' });
    r.policy.dhcpObserved({ mac: MAC, ip: '10.77.0.50', source: 'ciaddr' });
    for (let i = 0; i < 50; i++) r.policy.assetServed('10.77.0.50', 'ubuntu/x.iso', 0, 200); // HEAD
    let assets = r.registry.eventList(MAC).filter((e) => e.kind === 'asset');
    assert.equal(assets.length, 1);
    r.clock.advanceMinutes(2);
    r.policy.assetServed('10.77.0.50', 'ubuntu/x.iso', 0, 200);
    assets = r.registry.eventList(MAC, { limit: 1000 }).filter((e) => e.kind === 'asset');
    assert.equal(assets.at(-1)?.detail.repeats, 49, 'the next one says how many were folded');
    for (let i = 0; i < 300; i++) r.policy.assetServed('10.77.0.50', `ubuntu/f${i}`, 10, 200);
    const n = r.registry.eventList(MAC, { limit: 1000 }).filter((e) => e.kind === 'asset').length;
    assert.ok(n <= 62, `${n} asset events`);
    assert.ok(r.limited.includes('asset'), 'counted for /metrics');
  } finally {
    r.registry.close();
  }
});

void test('expired-token refusals are folded: one event per minute per machine, naming the client', () => {
  const r = policyRig();
  try {
    r.registry.machineCreate({ mac: MAC, host: 'ubu1', state: 'registered' });
    const token = tokenOf(String(r.policy.machineScript({ mac: MAC, query: {}, clientAddress: '10.77.0.50' }).body));
    r.clock.advanceMinutes(241);
    const before = r.registry.eventList(MAC).length;
    for (let i = 0; i < 100; i++) {
      assert.equal(r.policy.tokenArtifact({ family: 'nocloud', token, name: 'user-data', clientAddress: '10.77.0.50' }), null);
    }
    const added = r.registry.eventList(MAC).slice(before);
    assert.deepEqual(added.map((e) => [e.kind, e.detail.outcome, e.detail.client]), [['token', 'expired', '10.77.0.50']]);
  } finally {
    r.registry.close();
  }
});

void test('the discovered cap removes the oldest unadopted machines and reports them', () => {
  const r = policyRig({ unknownMacs: 'discover', maxDiscovered: 3 });
  try {
    for (let i = 0; i < 5; i++) {
      r.clock.advanceMinutes(1);
      r.policy.dhcpBoot(query(client('bios', { mac: `02:00:00:00:01:0${i}` })));
    }
    assert.deepEqual(r.registry.machineList({ state: 'discovered' }).map((m) => m.mac), ['02:00:00:00:01:02', '02:00:00:00:01:03', '02:00:00:00:01:04']);
    assert.equal(r.agedOut(), 2);
  } finally {
    r.registry.close();
  }
});
