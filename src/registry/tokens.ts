// The tokens table: per-boot install tokens, stored as their sha256 (types.ts BootToken).

import { PxedError } from '../errors.js';
import { isBootEventKind } from '../model/events.js';
import { parseMacOrThrow } from '../net/mac.js';
import { invalid, notFound, toJson } from './checks.js';
import { insertEvent } from './events.js';
import { transitionRow } from './machines.js';
import { machineRow, rowToToken, type TokenRow } from './rows.js';
import type { SqliteStore } from './store.js';
import type { BootArm, BootToken } from './types.js';

/** Revoked tokens are kept this long (so a late installer request is still recognised and recorded), then pruned. */
const REVOKED_TOKEN_KEEP_MS = 30 * 24 * 3600 * 1000;

function checkHash(token: BootToken): void {
  if (!/^[0-9a-f]{64}$/.test(token.hash)) throw invalid('token hash must be 64 lower-case hex digits (sha256)');
}

/** Inside a write, the machine known to exist: the duplicate check and INSERT. */
function insertToken(s: SqliteStore, mac: string, token: BootToken): void {
  if (s.stmt('SELECT 1 FROM tokens WHERE hash = ?').get(token.hash)) {
    throw new PxedError('REGISTRY_EXISTS', 'a token with this hash already exists', { mac });
  }
  s.stmt('INSERT INTO tokens (hash, mac, boot_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    token.hash,
    mac,
    token.bootId,
    token.createdAt,
    token.expiresAt,
    token.revokedAt,
  );
}

export function tokenInsert(s: SqliteStore, token: BootToken): void {
  const mac = parseMacOrThrow(token.mac);
  checkHash(token);
  s.write('tokenInsert', null, () => {
    if (!machineRow(s, mac)) throw notFound(mac);
    insertToken(s, mac, token);
  });
}

/**
 * MachineRegistry.bootArm (types.ts): one write, no savepoints — the same rows and events as machineTransition to
 * booting, tokenRevokeAll at the token's createdAt, tokenInsert and eventAppend inside atomically(), in that order.
 */
export function bootArm(s: SqliteStore, arm: BootArm): void {
  const m = parseMacOrThrow(arm.token.mac);
  checkHash(arm.token);
  const kind = (arm.event as { kind?: unknown } | null)?.kind;
  if (!isBootEventKind(kind)) throw invalid(`unknown event kind ${JSON.stringify(kind)}`);
  toJson(arm.event.detail, 'detail');
  toJson(arm.detail, 'detail');
  s.write('bootArm', m, () => {
    transitionRow(s, m, 'booting', arm.reason, arm.detail);
    revokeTokens(s, m, arm.token.createdAt);
    insertToken(s, m, arm.token);
    insertEvent(s, m, s.stamp(), arm.event);
  });
}

export function tokenGet(s: SqliteStore, hash: string): BootToken | null {
  return s.read('tokenGet', () => {
    const r = s.stmt<[string], TokenRow>('SELECT * FROM tokens WHERE hash = ?').get(hash);
    return r ? rowToToken(r) : null;
  });
}

/** Through the index tokens_mac_revoked (schema.ts), at (mac, NULL): only the MAC's unrevoked tokens are read. */
export function tokenLiveExists(s: SqliteStore, mac: string, at: string): boolean {
  const m = parseMacOrThrow(mac);
  return s.read('tokenLiveExists', () => s.stmt('SELECT 1 FROM tokens WHERE mac = ? AND revoked_at IS NULL AND expires_at > ? LIMIT 1').get(m, at) !== undefined);
}

export function tokenRevokeAll(s: SqliteStore, mac: string, at?: string): number {
  const m = parseMacOrThrow(mac);
  return s.write('tokenRevokeAll', null, () => revokeTokens(s, m, at ?? s.stamp()));
}

/**
 * Inside a write: revokes the MAC's live tokens at `at` and prunes its tokens revoked longer than the keep time ago;
 * returns how many it revoked. Both statements reach their rows through an index (schema.ts migrations 2 and 3).
 */
export function revokeTokens(s: SqliteStore, mac: string, at: string): number {
  const cutoff = new Date(Date.parse(at) - REVOKED_TOKEN_KEEP_MS).toISOString();
  s.stmt('DELETE FROM tokens WHERE mac = ? AND revoked_at IS NOT NULL AND revoked_at < ?').run(mac, cutoff);
  return s.stmt('UPDATE tokens SET revoked_at = ? WHERE mac = ? AND revoked_at IS NULL').run(at, mac).changes;
}
