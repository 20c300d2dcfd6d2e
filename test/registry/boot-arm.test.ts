// MachineRegistry.bootArm: one write with what machineTransition(booting) + tokenRevokeAll + tokenInsert +
// eventAppend inside atomically() write (same rows, same events in the same order), and nothing when it fails.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BootEvents } from '../../src/model/events.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import type { BootToken, MachineRegistry } from '../../src/registry/types.js';

const MAC = '52:54:00:a7:00:01';
const at = '2026-12-03T10:00:00.000Z';
const token = (n: number): BootToken => ({ hash: n.toString(16).padStart(64, '0'), mac: MAC, bootId: `boot-${n}`, createdAt: at, expiresAt: '2026-12-03T12:00:00.000Z', revokedAt: null });
const event = BootEvents.script({ variant: 'install', client: '10.0.0.5', bootId: 'boot-2' });

function fresh(): MachineRegistry {
  const reg = openRegistry(':memory:', { now: () => new Date(at) });
  reg.machineCreate({ mac: MAC, host: 'h1' });
  reg.machineTransition(MAC, 'booting', 'first');
  reg.tokenInsert(token(1));
  return reg;
}

const view = (reg: MachineRegistry): unknown => ({
  state: reg.machineGet(MAC)?.state,
  events: reg.eventList(MAC).map((e) => ({ kind: e.kind, detail: e.detail, time: e.time })),
  tokens: [1, 2].map((n) => reg.tokenGet(token(n).hash)),
});

void test('bootArm writes what the four calls in atomically() write', () => {
  const a = fresh();
  a.bootArm({ token: token(2), reason: 'iPXE install script rendered', detail: { bootId: 'boot-2' }, event });
  const b = fresh();
  b.atomically(() => {
    b.machineTransition(MAC, 'booting', 'iPXE install script rendered', { bootId: 'boot-2' });
    b.tokenRevokeAll(MAC, at);
    b.tokenInsert(token(2));
    b.eventAppend(MAC, event);
  });
  assert.deepEqual(view(a), view(b));
  assert.equal(a.tokenGet(token(1).hash)?.revokedAt, at);
  a.close();
  b.close();
});

void test('a failed bootArm writes nothing (duplicate token, unknown machine, bad event)', () => {
  const reg = fresh();
  const before = view(reg);
  const delivered: unknown[] = [];
  reg.eventSubscribe((e) => delivered.push(e));
  assert.throws(() => reg.bootArm({ token: token(1), reason: 'again', detail: {}, event }), (err: Error & { code?: string }) => err.code === 'REGISTRY_EXISTS');
  assert.throws(() => reg.bootArm({ token: { ...token(3), mac: '52:54:00:a7:00:09' }, reason: 'x', detail: {}, event }), (err: Error & { code?: string }) => err.code === 'REGISTRY_NOT_FOUND');
  assert.throws(() => reg.bootArm({ token: token(3), reason: 'x', detail: {}, event: { kind: 'nope', detail: {} } as never }), (err: Error & { code?: string }) => err.code === 'REGISTRY_INVALID');
  assert.deepEqual(view(reg), before);
  assert.deepEqual(delivered, []);
  reg.close();
});
