import { after, before, beforeEach, describe, it } from 'node:test';
import { execFile, execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { isPxedError, type ErrorCode } from '../../src/errors.js';
import { MACHINE_STATES } from '../../src/model/machine.js';
import type { BootEvent } from '../../src/model/events.js';
import type { BootToken, Lease } from '../../src/registry/types.js';
import { canTransition } from '../../src/model/machine.js';
import { openRegistry, SCHEMA_VERSION, type SqliteRegistry } from '../../src/registry/sqlite.js';
import { createLogger } from '../../src/log.js';
import type { BootEventBody } from '../../src/model/events.js';

/** A raw event body for storage tests (kind and detail as the registry stores them). */
const ev = (kind: string, detail: Record<string, unknown> = {}): BootEventBody => ({ kind, detail }) as BootEventBody;

const MAC = 'aa:bb:cc:dd:ee:01';
const MAC2 = 'aa:bb:cc:dd:ee:02';

/** A clock that advances 1 ms per call, so timestamps are distinct and predictable. */
function fakeClock(start = Date.parse('2026-01-01T00:00:00.000Z')): () => Date {
  let t = start;
  return () => new Date(t++);
}

function code(c: ErrorCode): (err: unknown) => boolean {
  return (err) => isPxedError(err, c);
}

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pxed-reg-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

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

void describe('events', () => {
  let reg: SqliteRegistry;
  beforeEach(() => {
    reg?.close();
    reg = openRegistry(':memory:', { now: fakeClock() });
  });

  void it('appends oldest-first with monotonic ids, pages with afterId/limit', () => {
    reg.machineCreate({ mac: MAC, host: 'a' });
    reg.machineCreate({ mac: MAC2, host: 'b' });
    for (let i = 0; i < 10; i++) reg.eventAppend(i % 2 ? MAC : MAC2, ev('dhcp-offer', { i }));
    const all = reg.eventListAll();
    assert.equal(all.length, 12);
    assert.deepEqual(all.map((e) => e.id), [...all.map((e) => e.id)].sort((a, b) => a - b));
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.time > all[i - 1]!.time);
    // Paging through everything in pages of 5 gives back the same list.
    const paged: BootEvent[] = [];
    let cursor = 0;
    for (;;) {
      const page = reg.eventListAll({ afterId: cursor, limit: 5 });
      if (page.length === 0) break;
      paged.push(...page);
      cursor = page.at(-1)!.id;
    }
    assert.deepEqual(paged, all);
    const mine = reg.eventList(MAC);
    assert.deepEqual(mine, all.filter((e) => e.mac === MAC));
    assert.deepEqual(reg.eventList(MAC, { afterId: mine[2]!.id, limit: 2 }), mine.slice(3, 5));
    assert.deepEqual(reg.eventList(MAC, { limit: 0 }), []);
    assert.throws(() => reg.eventList(MAC, { afterId: -1 }), code('REGISTRY_INVALID'));
    assert.throws(() => reg.eventListAll({ limit: 1.5 }), code('REGISTRY_INVALID'));
  });

  void it('refuses events for unknown machines and bad details', () => {
    assert.throws(() => reg.eventAppend(MAC, ev('tftp', {})), code('REGISTRY_NOT_FOUND'));
    reg.machineCreate({ mac: MAC, host: 'a' });
    assert.throws(() => reg.eventAppend(MAC, ev('', {})), code('REGISTRY_INVALID'));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => reg.eventAppend(MAC, ev('asset', circular)), code('REGISTRY_INVALID'));
    assert.equal(reg.eventList(MAC).length, 1);
  });

  void it('notifies subscribers after commit, survives a throwing listener, unsubscribes', () => {
    const lines: string[] = [];
    reg.close();
    reg = openRegistry(':memory:', { now: fakeClock(), log: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
    const seen: BootEvent[] = [];
    const committedAtCall: boolean[] = [];
    reg.eventSubscribe(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = reg.eventSubscribe((e) => {
      seen.push(e);
      // After commit: the event is already readable (and we are not inside a transaction).
      committedAtCall.push(reg.eventListAll({ afterId: e.id - 1, limit: 1 })[0]?.id === e.id);
    });
    const m = reg.machineCreate({ mac: MAC, host: 'a' });
    reg.machineTransition(MAC, 'booting', 'ipxe');
    const event = reg.eventAppend(MAC, ev('tftp', { file: 'snponly.efi' }));
    assert.equal(m.state, 'registered');
    assert.deepEqual(seen, reg.eventListAll());
    assert.deepEqual(seen.at(-1), event);
    assert.deepEqual(committedAtCall, [true, true, true]);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /event listener threw/);
    // Failed writes notify nobody.
    assert.throws(() => reg.machineTransition(MAC, 'configured', 'x'), code('LIFECYCLE_ILLEGAL'));
    assert.equal(seen.length, 3);
    unsubscribe();
    reg.eventAppend(MAC, ev('tftp', {}));
    assert.equal(seen.length, 3);
  });
});

void describe('atomically', () => {
  let reg: SqliteRegistry;
  const token = (hash: string): BootToken => ({
    hash: hash.repeat(64),
    mac: MAC,
    bootId: 'b1',
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-02T00:00:00.000Z',
    revokedAt: null,
  });
  beforeEach(() => {
    reg?.close();
    reg = openRegistry(':memory:', { now: fakeClock() });
    reg.machineCreate({ mac: MAC, host: 'a' });
  });

  void it('commits the writes inside together and delivers their events after the commit', () => {
    const seen: BootEvent[] = [];
    const inTxAtCall: boolean[] = [];
    reg.eventSubscribe((e) => {
      seen.push(e);
      inTxAtCall.push(reg.eventListAll().length !== seen.length + 1);
    });
    const result = reg.atomically(() => {
      reg.machineTransition(MAC, 'booting', 'script');
      reg.tokenInsert(token('a'));
      reg.eventAppend(MAC, ev('ipxe-script', { variant: 'install' }));
      assert.equal(seen.length, 0, 'nothing is delivered before the commit');
      assert.equal(reg.machineGet(MAC)?.state, 'booting', 'the transaction sees its own writes');
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(
      seen.map((e) => e.kind),
      ['state', 'ipxe-script'],
    );
    assert.equal(reg.machineGet(MAC)?.state, 'booting');
    assert.notEqual(reg.tokenGet('a'.repeat(64)), null);
  });

  void it('an error thrown inside undoes every write, notifies nobody and leaves no stale cache entry', () => {
    reg.tokenInsert(token('b'));
    const before = reg.eventListAll().length;
    const seen: BootEvent[] = [];
    reg.eventSubscribe((e) => seen.push(e));
    assert.throws(
      () =>
        reg.atomically(() => {
          reg.machineTransition(MAC, 'booting', 'script');
          reg.tokenRevokeAll(MAC);
          assert.equal(reg.machineGet(MAC)?.state, 'booting'); // cached inside the transaction
          reg.tokenInsert(token('b')); // duplicate hash: REGISTRY_EXISTS
        }),
      code('REGISTRY_EXISTS'),
    );
    assert.equal(reg.machineGet(MAC)?.state, 'registered', 'the rolled-back state is not served from the cache');
    assert.equal(reg.tokenGet('b'.repeat(64))?.revokedAt, null, 'the revocation was undone');
    assert.equal(reg.eventListAll().length, before);
    assert.deepEqual(seen, []);
    // The registry goes on working, in and out of atomically().
    reg.atomically(() => reg.machineTransition(MAC, 'booting', 'again'));
    assert.equal(reg.machineGet(MAC)?.state, 'booting');
    assert.equal(seen.length, 1);
  });

  void it('a write that fails half-way inside is undone whole, even when fn catches the error and goes on', () => {
    const file = path.join(dir, 'atomic-partial.db');
    const r = openRegistry(file);
    const raw = new Database(file);
    try {
      r.machineCreate({ mac: MAC, host: 'a' });
      r.machineTransition(MAC, 'booting', 'offer');
      r.tokenInsert(token('c'));
      // Fails the transition's last statement (its state event) after its UPDATE and token revocation have run.
      raw.exec("CREATE TRIGGER boom BEFORE INSERT ON events WHEN json_extract(NEW.detail, '$.reason') = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");
      const seen: BootEvent[] = [];
      r.eventSubscribe((e) => seen.push(e));
      r.atomically(() => {
        assert.throws(() => r.machineTransition(MAC, 'registered', 'boom'), code('REGISTRY_IO'));
        r.eventAppend(MAC, ev('error', { after: 'the failed write' }));
      });
      assert.equal(r.machineGet(MAC)?.state, 'booting', 'the UPDATE of the failed write was undone');
      assert.equal(r.tokenGet('c'.repeat(64))?.revokedAt, null, 'its token revocation too');
      assert.deepEqual(
        seen.map((e) => e.kind),
        ['error'],
        'only the write that went through is committed and delivered',
      );
    } finally {
      raw.close();
      r.close();
    }
  });

  void it('nests: an inner atomically() is part of the outer transaction', () => {
    const bug = new Error('outer fails');
    assert.throws(
      () =>
        reg.atomically(() => {
          reg.atomically(() => reg.machineTransition(MAC, 'booting', 'inner'));
          throw bug;
        }),
      (err) => err === bug, // what fn throws comes out unchanged
    );
    assert.equal(reg.machineGet(MAC)?.state, 'registered');
  });
});

void describe('tokens', () => {
  let reg: SqliteRegistry;
  beforeEach(() => {
    reg?.close();
    reg = openRegistry(':memory:', { now: fakeClock() });
  });

  void it('inserts, gets, refuses duplicates and unknown machines, revokes all live ones', () => {
    reg.machineCreate({ mac: MAC, host: 'a' });
    reg.machineCreate({ mac: MAC2, host: 'b' });
    const t = token('1', 'AA-BB-CC-DD-EE-01');
    reg.tokenInsert(t);
    assert.deepEqual(reg.tokenGet(hash('1')), { ...t, mac: MAC });
    assert.equal(reg.tokenGet(hash('nope')), null);
    assert.throws(() => reg.tokenInsert(t), code('REGISTRY_EXISTS'));
    assert.throws(() => reg.tokenInsert(token('9', 'aa:bb:cc:dd:ee:99')), code('REGISTRY_NOT_FOUND'));
    assert.throws(() => reg.tokenInsert({ ...token('8', MAC), hash: 'not-a-hash' }), code('REGISTRY_INVALID'));
    reg.tokenInsert(token('2', MAC));
    reg.tokenInsert(token('3', MAC2));
    assert.equal(reg.tokenRevokeAll(MAC, '2026-02-02T00:00:00.000Z'), 2);
    assert.equal(reg.tokenRevokeAll(MAC), 0);
    assert.equal(reg.tokenGet(hash('2'))!.revokedAt, '2026-02-02T00:00:00.000Z');
    assert.equal(reg.tokenGet(hash('3'))!.revokedAt, null);
  });
});

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

void describe('files, pragmas, migrations', () => {
  void it('opens twice (migrations idempotent), persists across reopen, sets WAL and foreign keys', () => {
    const file = path.join(dir, 'nested', 'dir', 'reg.db');
    const a = openRegistry(file);
    a.machineCreate({ mac: MAC, host: 'a' });
    const b = openRegistry(file); // second open while the first is still open: no migration re-run
    assert.equal(b.machineGet(MAC)!.host, 'a');
    b.close();
    a.close();
    a.close(); // idempotent
    const c = openRegistry(file);
    assert.equal(c.machineList().length, 1);
    assert.equal(c.integrityCheck(), 'ok');
    c.close();
    const raw = new Database(file, { readonly: true });
    try {
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const tables = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(tables.filter((t) => !t.startsWith('sqlite_')), ['events', 'leases', 'machines', 'tokens']);
    } finally {
      raw.close();
    }
  });

  void it('token writes at arming reach only the rows they change through an index (no scan of a MAC\'s history)', () => {
    const file = path.join(dir, 'plans.db');
    openRegistry(file).close();
    const raw = new Database(file, { readonly: true });
    try {
      const plan = (sql: string): string =>
        (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; ');
      // The statements revokeTokens runs, as written there.
      assert.match(plan("DELETE FROM tokens WHERE mac = 'm' AND revoked_at IS NOT NULL AND revoked_at < 't'"), /USING INDEX tokens_mac_revoked \(mac=\? AND revoked_at>\? AND revoked_at<\?\)/);
      assert.match(plan("UPDATE tokens SET revoked_at = 't' WHERE mac = 'm' AND revoked_at IS NULL"), /USING INDEX tokens_(live|mac_revoked) /);
    } finally {
      raw.close();
    }
  });

  void it('refuses a database from a newer pxed with REGISTRY_SCHEMA', () => {
    const file = path.join(dir, 'newer.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openRegistry(file), code('REGISTRY_SCHEMA'));
  });

  void it('reports unopenable and non-database files as REGISTRY_IO', () => {
    const junk = path.join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just some text long enough to have a header'.repeat(20));
    assert.throws(() => openRegistry(junk), code('REGISTRY_IO'));
    const blocker = path.join(dir, 'file');
    writeFileSync(blocker, '');
    assert.throws(() => openRegistry(path.join(blocker, 'reg.db')), code('REGISTRY_IO'));
  });

  void it('a closed registry throws REGISTRY_IO, not a raw error', () => {
    const reg = openRegistry(':memory:');
    reg.close();
    assert.throws(() => reg.machineList(), code('REGISTRY_IO'));
    assert.throws(() => reg.machineCreate({ mac: MAC, host: 'a' }), code('REGISTRY_IO'));
  });

  void it('FULL synchronous mode is accepted', () => {
    const reg = openRegistry(path.join(dir, 'full.db'), { synchronous: 'FULL' });
    reg.machineCreate({ mac: MAC, host: 'a' });
    reg.close();
  });
});

// ---- helpers ----

function hash(id: string): string {
  return id.padStart(64, '0').replace(/[^0-9a-f]/g, 'f');
}

function token(id: string, mac: string): BootToken {
  return { hash: hash(id), mac, bootId: `boot-${id}`, createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T01:00:00.000Z', revokedAt: null };
}

/** Drives a machine from registered to `state` along legal edges. */
function forceState(reg: SqliteRegistry, mac: string, state: (typeof MACHINE_STATES)[number]): void {
  const routes: Record<string, string[]> = {
    booting: ['booting'],
    installing: ['booting', 'installing'],
    installed: ['booting', 'installing', 'installed'],
    configured: ['booting', 'installing', 'installed', 'configured'],
    'post-installing': ['booting', 'installing', 'installed', 'post-installing'],
    failed: ['booting', 'failed'],
    stalled: ['booting', 'stalled'],
  };
  if (state === 'discovered') {
    // Discovered, but already given a host, so discovered → registered is the table's only question.
    reg.machineDelete(mac);
    reg.machineCreate({ mac, host: 'h', state: 'discovered' });
    return;
  }
  for (const s of routes[state] ?? []) reg.machineTransition(mac, s as never, 'setup');
}

void describe('machineGet read cache', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pxed-cache-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('sees its own writes and another process connection’s commits; callers cannot corrupt it', () => {
    const file = path.join(dir, 'r.db');
    const daemon = openRegistry(file);
    const cli = openRegistry(file); // stands for `pxed machines add` while the daemon runs
    try {
      assert.equal(daemon.machineGet(MAC), null);
      cli.machineCreate({ mac: MAC, host: 'web1' });
      assert.equal(daemon.machineGet(MAC)?.state, 'registered', 'a commit by another connection is seen');
      daemon.machineTransition(MAC, 'booting', 'offer');
      assert.equal(daemon.machineGet(MAC)?.state, 'booting', 'own write is seen');
      cli.machineUpdate(MAC, { overrides: { efiBinary: 'ipxe.efi' } });
      const m = daemon.machineGet(MAC)!;
      assert.equal(m.overrides.efiBinary, 'ipxe.efi');
      assert.throws(() => ((m.overrides as { efiBinary?: string }).efiBinary = 'mutated'), TypeError, 'returned objects are frozen');
      assert.throws(() => ((m as { state: string }).state = 'installed'), TypeError);
      assert.equal(daemon.machineGet(MAC)?.overrides.efiBinary, 'ipxe.efi');
      assert.equal(daemon.machineGet(MAC)?.state, 'booting');
      cli.machineDelete(MAC);
      assert.equal(daemon.machineGet(MAC), null, 'a delete by another connection is seen');
    } finally {
      daemon.close();
      cli.close();
    }
  });

  void it('drops only the written machine from the cache; event and token writes keep it', () => {
    const file = path.join(dir, 'w.db');
    const reg = openRegistry(file);
    const other = '52:54:00:00:00:98';
    try {
      reg.machineCreate({ mac: MAC, host: 'web1' });
      reg.machineCreate({ mac: other, host: 'web1' });
      assert.equal(reg.machineGet(MAC)?.state, 'registered');
      assert.equal(reg.machineGet(other)?.state, 'registered');
      reg.eventAppend(MAC, ev('error', { n: 1 }));
      reg.machineTransition(other, 'booting', 'offer');
      assert.equal(reg.machineGet(other)?.state, 'booting', 'the written machine is read again');
      assert.equal(reg.machineGet(MAC)?.state, 'registered');
      reg.machineUpdate(MAC, { host: 'web2' });
      assert.equal(reg.machineGet(MAC)?.host, 'web2');
      reg.machineDelete(other);
      assert.equal(reg.machineGet(other), null);
      assert.throws(() => reg.machineTransition(MAC, 'installed', 'illegal'));
      assert.equal(reg.machineGet(MAC)?.state, 'registered', 'a refused write leaves the row and the cache as they were');
    } finally {
      reg.close();
    }
  });

  void it('sees a commit by another process, synchronously after the call that waited for it and in a later turn', async () => {
    const file = path.join(dir, 'p.db');
    const daemon = openRegistry(file);
    const registryModule = new URL('../../src/registry/sqlite.js', import.meta.url).href;
    const add = (mac: string): string =>
      `import { openRegistry } from ${JSON.stringify(registryModule)}; const r = openRegistry(${JSON.stringify(file)}); r.machineCreate({ mac: ${JSON.stringify(mac)}, host: 'web1' }); r.close();`;
    try {
      assert.equal(daemon.machineGet(MAC), null);
      execFileSync(process.execPath, ['--input-type=module', '-e', add(MAC)]);
      assert.equal(daemon.machineGet(MAC)?.state, 'registered', 'after a blocking wait in the same turn');
      const other = '52:54:00:00:00:99';
      assert.equal(daemon.machineGet(other), null);
      await new Promise<void>((resolve, reject) => execFile(process.execPath, ['--input-type=module', '-e', add(other)], (err) => (err ? reject(err) : resolve())));
      assert.equal(daemon.machineGet(other)?.state, 'registered', 'in a later turn');
    } finally {
      daemon.close();
    }
  });
});
