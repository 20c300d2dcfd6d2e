import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log.js';
import { WatchdogService } from '../../src/boot/watchdog.js';
import { ManualClock } from '../../src/model/clock.js';
import { FixedRegistry, brokenRegistry, machine } from '../helpers/fakes.js';

const MAC = '52:54:00:00:00:01';

void test('WatchdogService checks on its interval, survives a failing registry, and stops', async () => {
  let calls = 0;
  const registry = new FixedRegistry();
  const list = registry.machineList.bind(registry);
  registry.machineList = (f) => {
    calls++;
    if (calls === 1) throw new Error('registry busy');
    return list(f);
  };
  const svc = new WatchdogService({ registry, clock: new ManualClock(), watchdogMinutes: 30, intervalMs: 10, logger: silentLogger });
  await svc.start();
  assert.equal(registry.listenerCount, 1, 'subscribed in start()');
  const deadline = Date.now() + 2000;
  while (calls < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  await svc.stop();
  assert.equal(registry.listenerCount, 0, 'unsubscribed in stop()');
  assert.ok(calls >= 3, `checked ${calls} times`);
  const after = calls;
  await new Promise((res) => setTimeout(res, 40));
  assert.equal(calls, after, 'no checks after stop');
  assert.deepEqual(new WatchdogService({ registry: brokenRegistry(), clock: new ManualClock(), watchdogMinutes: 30, logger: silentLogger }).tick(), []);
});

void test('the pure rule decides; any event after the state change counts as progress', async () => {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');
  const clock = new ManualClock(t0);
  const registry = new FixedRegistry([machine(MAC, { state: 'installing', stateChangedAt: new Date(t0).toISOString() })], clock);
  const svc = new WatchdogService({ registry, clock, watchdogMinutes: 30, intervalMs: 3_600_000, logger: silentLogger });
  await svc.start();
  try {
    clock.advance(20 * 60_000);
    registry.eventAppend(MAC, { kind: 'asset', detail: { path: 'vmlinuz', bytes: 1, status: 200, client: '10.0.0.5' } });
    clock.advance(25 * 60_000);
    assert.deepEqual(svc.check(), [], '45 min after the state change, but 25 after the last event');
    clock.advance(10 * 60_000);
    assert.deepEqual(svc.check(), [MAC]);
    assert.equal(registry.machineGet(MAC)?.state, 'stalled');
    const ev = registry.events.at(-1)!;
    assert.deepEqual(ev.kind === 'state' && [ev.detail.lastEvent, ev.detail.watchdogMinutes], ['asset', 30]);
  } finally {
    await svc.stop();
  }
});
