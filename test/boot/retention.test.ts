// Issue 14 item 3: the retention service prunes by count per machine and by age, in bounded runs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRUNE_BATCH, RetentionService } from '../../src/boot/retention.js';
import { silentLogger } from '../../src/log.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import { FakeClock } from './fixtures.js';

void test('retention: each machine keeps its newest events, old ones go, a backlog is worked off over runs', async () => {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00.000Z'));
  const registry = openRegistry(':memory:', { now: () => clock.now() });
  const svc = new RetentionService({ registry, clock, logger: silentLogger, eventsPerMachine: 100, maxAgeDays: 30, maxBatches: 2 });
  try {
    const a = '52:54:00:00:01:01';
    const b = '52:54:00:00:01:02';
    registry.machineCreate({ mac: a, host: 'a', state: 'registered' });
    registry.machineCreate({ mac: b, host: 'b', state: 'registered' });
    for (let i = 0; i < 10; i++) registry.eventAppend(b, { kind: 'error', detail: { reason: 'old' } });
    clock.advanceMinutes(40 * 24 * 60);
    await svc.start();
    for (let i = 0; i < PRUNE_BATCH * 2; i++) registry.eventAppend(a, { kind: 'error', detail: { reason: `e${i}` } });
    // Run 1: the age batch (both creation events and b's 10 errors) and one count batch of a.
    assert.deepEqual(svc.tick(), { byAge: 12, byCount: PRUNE_BATCH });
    // Run 2: the rest of a's excess.
    assert.deepEqual(svc.tick(), { byAge: 0, byCount: PRUNE_BATCH - 100 });
    assert.equal(registry.eventList(a, { limit: 10_000 }).length, 100);
    assert.equal(registry.eventList(b).length, 0);
    assert.deepEqual(svc.tick(), { byAge: 0, byCount: 0 });
  } finally {
    await svc.stop();
    registry.close();
  }
});
