// src/registry/machines.ts on an in-memory registry: create/list/update/delete, and state transitions against the
// lifecycle table (one state event each; reinstall revokes live tokens in the same transaction).
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { canTransition, MACHINE_STATES } from '../../src/model/machine.js';
import { openRegistry, type SqliteRegistry } from '../../src/registry/sqlite.js';
import { code, ev, fakeClock, forceState, hash, MAC, MAC2, token } from './helpers.js';

void describe('machines', () => {
  let reg: SqliteRegistry;
  beforeEach(() => {
    reg?.close();
    reg = openRegistry(':memory:', { now: fakeClock() });
  });

  void it('creates, normalising the MAC, and records a state event', () => {
    const m = reg.machineCreate({ mac: 'AA-BB-CC-DD-EE-01', host: 'web1', arch: 7, firmware: 'uefi', overrides: { efiBinary: 'ipxe.efi' } });
    assert.equal(m.mac, MAC);
    assert.equal(m.state, 'registered');
    assert.equal(m.installMode, 'once');
    assert.equal(m.arch, 7);
    assert.deepEqual(m.overrides, { efiBinary: 'ipxe.efi' });
    assert.equal(m.createdAt, '2026-01-01T00:00:00.000Z');
    assert.equal(m.stateChangedAt, m.createdAt);
    assert.deepEqual(reg.machineGet('aabb.ccdd.ee01'), m);
    const evs = reg.eventList(MAC);
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.kind, 'state');
    assert.deepEqual(evs[0]!.detail, { from: null, to: 'registered', reason: 'created', host: 'web1' });
  });

  void it('creates discovered machines without a host, refuses registered without one', () => {
    assert.equal(reg.machineCreate({ mac: MAC, host: null }).state, 'discovered');
    assert.throws(() => reg.machineCreate({ mac: MAC2, host: null, state: 'registered' }), code('REGISTRY_INVALID'));
    assert.equal(reg.machineGet(MAC2), null);
  });

  void it('refuses duplicates (any spelling) with REGISTRY_EXISTS', () => {
    reg.machineCreate({ mac: MAC, host: 'a' });
    assert.throws(() => reg.machineCreate({ mac: 'AABBCCDDEE01', host: 'b' }), code('REGISTRY_EXISTS'));
    assert.equal(reg.machineGet(MAC)!.host, 'a');
    assert.equal(reg.eventList(MAC).length, 1);
  });

  void it('refuses bad MACs on every method with MAC_INVALID', () => {
    for (const bad of ['', 'aa:bb:cc:dd:ee', 'aa:bb-cc:dd:ee:ff', 'gg:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:ff:00', ' ; drop table']) {
      assert.throws(() => reg.machineCreate({ mac: bad, host: 'x' }), code('MAC_INVALID'), bad);
      assert.throws(() => reg.machineGet(bad), code('MAC_INVALID'), bad);
      assert.throws(() => reg.machineTransition(bad, 'booting', 'x'), code('MAC_INVALID'), bad);
      assert.throws(() => reg.eventAppend(bad, ev('x', {})), code('MAC_INVALID'), bad);
    }
    assert.deepEqual(reg.machineList(), []);
  });

  void it('lists sorted by MAC, filtered by state', () => {
    reg.machineCreate({ mac: MAC2, host: 'b' });
    reg.machineCreate({ mac: MAC, host: 'a' });
    reg.machineCreate({ mac: 'aa:bb:cc:dd:ee:00', host: null });
    assert.deepEqual(reg.machineList().map((m) => m.mac), ['aa:bb:cc:dd:ee:00', MAC, MAC2]);
    assert.deepEqual(reg.machineList({ state: 'registered' }).map((m) => m.mac), [MAC, MAC2]);
    assert.deepEqual(reg.machineList({ state: 'installed' }), []);
    assert.throws(() => reg.machineList({ state: 'bogus' as never }), code('REGISTRY_INVALID'));
  });

  void it('updates fields without touching state', () => {
    const before = reg.machineCreate({ mac: MAC, host: 'a' });
    const m = reg.machineUpdate(MAC, { host: 'b', installMode: 'always', ip: '10.0.0.5', uuid: 'u-1', vendorClass: 'PXEClient', overrides: { uefiStrategy: 'binl' } });
    assert.equal(m.host, 'b');
    assert.equal(m.installMode, 'always');
    assert.equal(m.ip, '10.0.0.5');
    assert.equal(m.uuid, 'u-1');
    assert.equal(m.vendorClass, 'PXEClient');
    assert.deepEqual(m.overrides, { uefiStrategy: 'binl' });
    assert.equal(m.state, 'registered');
    assert.equal(m.stateChangedAt, before.stateChangedAt);
    assert.ok(m.updatedAt > before.updatedAt);
    assert.equal(reg.eventList(MAC).length, 1, 'updates are not state events');
    assert.throws(() => reg.machineUpdate(MAC2, { host: 'x' }), code('REGISTRY_NOT_FOUND'));
    assert.throws(() => reg.machineUpdate(MAC, { host: null }), code('REGISTRY_INVALID'));
    assert.throws(() => reg.machineUpdate(MAC, { installMode: 'sometimes' as never }), code('REGISTRY_INVALID'));
    assert.equal(reg.machineGet(MAC)!.host, 'b');
  });

  void it('deletes a machine with its events and tokens', () => {
    reg.machineCreate({ mac: MAC, host: 'a' });
    reg.machineCreate({ mac: MAC2, host: 'b' });
    reg.tokenInsert(token('1', MAC));
    reg.eventAppend(MAC, ev('dhcp-offer', {}));
    assert.equal(reg.machineDelete('AA:BB:CC:DD:EE:01'), true);
    assert.equal(reg.machineDelete(MAC), false);
    assert.equal(reg.machineGet(MAC), null);
    assert.deepEqual(reg.eventList(MAC), []);
    assert.equal(reg.tokenGet(hash('1')), null);
    assert.equal(reg.eventList(MAC2).length, 1);
    // The machine can come back; event ids keep growing (AUTOINCREMENT), so SSE cursors never go back.
    const maxId = Math.max(...reg.eventListAll().map((e) => e.id));
    reg.machineCreate({ mac: MAC, host: 'a' });
    assert.ok(reg.eventList(MAC)[0]!.id > maxId);
  });
});

void describe('transitions', () => {
  let reg: SqliteRegistry;
  beforeEach(() => {
    reg?.close();
    reg = openRegistry(':memory:', { now: fakeClock() });
  });

  void it('walks registered → booting → installing → installed → configured, one state event each', () => {
    reg.machineCreate({ mac: MAC, host: 'web1' });
    const path: [typeof MACHINE_STATES[number], string][] = [
      ['booting', 'ipxe-script'],
      ['installing', 'user-data fetched'],
      ['installed', 'phone-home'],
      ['configured', 'ansible'],
    ];
    let prev = reg.machineGet(MAC)!;
    for (const [to, reason] of path) {
      const m = reg.machineTransition(MAC, to, reason, { bootId: 'b1' });
      assert.equal(m.state, to);
      assert.ok(m.stateChangedAt > prev.stateChangedAt);
      assert.equal(m.updatedAt, m.stateChangedAt);
      prev = m;
    }
    const evs = reg.eventList(MAC);
    assert.deepEqual(
      evs.map((e) => [e.kind, e.detail.from, e.detail.to, e.detail.reason, e.detail.bootId]),
      [
        ['state', null, 'registered', 'created', undefined],
        ['state', 'registered', 'booting', 'ipxe-script', 'b1'],
        ['state', 'booting', 'installing', 'user-data fetched', 'b1'],
        ['state', 'installing', 'installed', 'phone-home', 'b1'],
        ['state', 'installed', 'configured', 'ansible', 'b1'],
      ],
    );
    assert.equal(evs.at(-1)!.time, prev.stateChangedAt);
  });

  void it('detail cannot overwrite from/to/reason', () => {
    reg.machineCreate({ mac: MAC, host: 'web1' });
    reg.machineTransition(MAC, 'booting', 'real', { from: 'x', to: 'y', reason: 'z', extra: 1 });
    assert.deepEqual(reg.eventList(MAC).at(-1)!.detail, { from: 'registered', to: 'booting', reason: 'real', extra: 1 });
  });

  void it('agrees with the lifecycle table for every pair and writes nothing when illegal', () => {
    let n = 0;
    for (const from of MACHINE_STATES) {
      for (const to of MACHINE_STATES) {
        const mac = `02:00:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
        n++;
        // Put a machine into `from` directly (the table test proves the path; here we test the write).
        reg.machineCreate({ mac, host: 'h' });
        if (from !== 'registered') forceState(reg, mac, from);
        const before = reg.machineGet(mac)!;
        const eventsBefore = reg.eventList(mac).length;
        if (canTransition(from, to)) {
          assert.equal(reg.machineTransition(mac, to, 't').state, to, `${from} -> ${to}`);
          assert.equal(reg.eventList(mac).length, eventsBefore + 1);
        } else {
          assert.throws(() => reg.machineTransition(mac, to, 't'), code('LIFECYCLE_ILLEGAL'), `${from} -> ${to}`);
          assert.deepEqual(reg.machineGet(mac), before, `${from} -> ${to} wrote the machine`);
          assert.equal(reg.eventList(mac).length, eventsBefore, `${from} -> ${to} wrote an event`);
        }
      }
    }
  });

  void it('refuses a transition out of discovered until the machine has a host', () => {
    reg.machineCreate({ mac: MAC, host: null });
    assert.throws(() => reg.machineTransition(MAC, 'registered', 'assign'), code('LIFECYCLE_ILLEGAL'));
    assert.equal(reg.machineGet(MAC)!.state, 'discovered');
    reg.machineUpdate(MAC, { host: 'web1' });
    assert.equal(reg.machineTransition(MAC, 'registered', 'assign').state, 'registered');
  });

  void it('refuses unknown machines and unknown states', () => {
    assert.throws(() => reg.machineTransition(MAC, 'booting', 'x'), code('REGISTRY_NOT_FOUND'));
    reg.machineCreate({ mac: MAC, host: 'a' });
    assert.throws(() => reg.machineTransition(MAC, 'rebooting' as never, 'x'), code('REGISTRY_INVALID'));
  });

  void it('reinstall (→ registered) revokes live tokens in the same transaction', () => {
    reg.machineCreate({ mac: MAC, host: 'a' });
    reg.machineTransition(MAC, 'booting', 'ipxe');
    reg.tokenInsert(token('1', MAC));
    reg.tokenInsert(token('2', MAC));
    reg.tokenInsert({ ...token('3', MAC), revokedAt: '2025-12-20T00:00:00.000Z' });
    reg.tokenInsert({ ...token('4', MAC), revokedAt: '2025-01-01T00:00:00.000Z' });
    reg.machineTransition(MAC, 'registered', 'reinstall', { by: 'test' });
    const ev = reg.eventList(MAC).at(-1)!;
    assert.deepEqual(ev.detail, { from: 'booting', to: 'registered', reason: 'reinstall', tokensRevoked: 2, by: 'test' });
    assert.equal(reg.tokenGet(hash('1'))!.revokedAt, ev.time);
    assert.equal(reg.tokenGet(hash('3'))!.revokedAt, '2025-12-20T00:00:00.000Z');
    // Revoked more than 30 days before: pruned, so a MAC's token rows stay bounded.
    assert.equal(reg.tokenGet(hash('4')), null);
  });
});
