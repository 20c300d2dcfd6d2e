// src/registry/tokens.ts: insert, get, refusals, revoking a machine's live tokens.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { openRegistry, type SqliteRegistry } from '../../src/registry/sqlite.js';
import { code, fakeClock, hash, MAC, MAC2, token } from './helpers.js';

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

  void it('tokenLiveExists: only a token neither revoked nor expired at the given time counts', () => {
    reg.machineCreate({ mac: MAC, host: 'a' });
    const t = token('1', MAC);
    assert.equal(reg.tokenLiveExists(MAC, t.createdAt), false, 'no token yet');
    reg.tokenInsert(t);
    assert.equal(reg.tokenLiveExists('AA-BB-CC-DD-EE-01', t.createdAt), true, 'any MAC spelling');
    assert.equal(reg.tokenLiveExists(MAC, t.expiresAt), false, 'expired at its expiry time');
    reg.tokenRevokeAll(MAC, t.createdAt);
    assert.equal(reg.tokenLiveExists(MAC, t.createdAt), false, 'revoked');
    assert.throws(() => reg.tokenLiveExists('nope', t.createdAt), code('MAC_INVALID'));
  });
});
