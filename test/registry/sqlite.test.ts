// src/registry/sqlite.ts and store.ts: atomically() (one transaction, events after commit, undo whole), opening
// files (REGISTRY_IO), pragmas, and the machineGet read cache across connections and processes.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { BootEvent } from '../../src/model/events.js';
import type { BootToken } from '../../src/registry/types.js';
import { openRegistry, type SqliteRegistry } from '../../src/registry/sqlite.js';
import { code, ev, fakeClock, MAC, tempDir } from './helpers.js';

const tmp = tempDir('pxed-reg-');

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
    const file = path.join(tmp(), 'atomic-partial.db');
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

void describe('files and pragmas', () => {
  void it('reports unopenable and non-database files as REGISTRY_IO', () => {
    const junk = path.join(tmp(), 'junk.db');
    writeFileSync(junk, 'this is not a database, just some text long enough to have a header'.repeat(20));
    assert.throws(() => openRegistry(junk), code('REGISTRY_IO'));
    const blocker = path.join(tmp(), 'file');
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
    const reg = openRegistry(path.join(tmp(), 'full.db'), { synchronous: 'FULL' });
    reg.machineCreate({ mac: MAC, host: 'a' });
    reg.close();
  });
});

void describe('machineGet read cache', () => {
  void it('sees its own writes and another process connection’s commits; callers cannot corrupt it', () => {
    const file = path.join(tmp(), 'r.db');
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
    const file = path.join(tmp(), 'w.db');
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
    const file = path.join(tmp(), 'p.db');
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
