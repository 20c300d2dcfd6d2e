// Per-boot tokens: minted when an install script is rendered, bound to one MAC and one boot, stored only as a
// sha256 hash (registry BootToken), live until revoked (install finished, machine re-armed, newer boot) or expired.

import { revokedLongAgo, type BootGuard } from './guard.js';
import { createHash, randomFillSync, randomUUID } from 'node:crypto';
import { BootEvents, type BootEventBody } from '../model/events.js';
import { LOCAL_STATES, type Machine } from '../model/machine.js';
import type { BootToken } from '../registry/types.js';
import type { PolicyContext } from './settings.js';

const TOKEN_BYTES = 32;
/** Random bytes for the next 128 tokens, filled at once (one CSPRNG call instead of one per install script, as
 * node's randomUUID() keeps its own); each byte is handed out once and zeroed as it goes. */
const tokenPool = Buffer.alloc(TOKEN_BYTES * 128);
let tokenPoolOffset = tokenPool.length;

/** 32 random bytes (256 bits) as base64url: 43 URL-safe characters. */
export function mintToken(): string {
  if (tokenPoolOffset === tokenPool.length) {
    randomFillSync(tokenPool);
    tokenPoolOffset = 0;
  }
  const end = tokenPoolOffset + TOKEN_BYTES;
  const token = tokenPool.toString('base64url', tokenPoolOffset, end);
  tokenPool.fill(0, tokenPoolOffset, end);
  tokenPoolOffset = end;
  return token;
}

/** The stored form: sha256 hex of the token text. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A cheap shape check before hashing: what mintToken() produces (and nothing that could be a path or a query). */
export function isTokenShaped(token: string): boolean {
  return /^[A-Za-z0-9_-]{22,128}$/.test(token);
}

/** Identifies one install boot (one rendering of an install script). */
export function newBootId(): string {
  return randomUUID();
}

export interface ResolvedToken {
  token: BootToken;
  machine: Machine;
  status: 'live' | 'expired' | 'revoked';
}

/** The policy's token book: arming a boot, and resolving the token an installer presents. */
export class BootTokens {
  constructor(
    private readonly ctx: PolicyContext,
    private readonly guard: BootGuard,
  ) {}

  /**
   * Moves the machine to booting, revokes the previous tokens, stores the new one (hashed) and appends `event` (what
   * armed it), in one registry write (bootArm): all of it lands or none.
   */
  arm(machine: Machine, bootId: string, token: string, event: BootEventBody): void {
    const now = this.ctx.clock.now();
    const reason =
      LOCAL_STATES.includes(machine.state)
        ? 'netboot in install mode always: reinstalling'
        : 'iPXE install script rendered';
    this.ctx.registry.bootArm({
      token: {
        hash: hashToken(token),
        mac: machine.mac,
        bootId,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + this.ctx.settings.tokenTtlMinutes * 60_000).toISOString(),
        revokedAt: null,
      },
      reason,
      detail: { bootId },
      event,
    });
  }

  /** The token's record, machine and status; null for anything that is not a known token of a known machine. */
  resolve(token: string): ResolvedToken | null {
    if (!isTokenShaped(token)) return null;
    const t = this.ctx.registry.tokenGet(hashToken(token));
    if (t === null || revokedLongAgo(t, this.ctx.clock.now().getTime())) return null;
    const machine = this.ctx.registry.machineGet(t.mac);
    if (machine === null) return null;
    let status: ResolvedToken['status'] = 'live';
    if (Date.parse(t.expiresAt) <= this.ctx.clock.now().getTime()) status = 'expired';
    else if (t.revokedAt !== null) status = 'revoked';
    return { token: t, machine, status };
  }

  /**
   * resolve(), then the source check (guard.ts): a token presented from an address it is not bound to is refused
   * like an unknown one (null → the same 404), recorded as a folded 'wrong-source' refusal naming the address.
   */
  resolveFrom(token: string, clientAddress: string, route: string): ResolvedToken | null {
    const r = this.resolve(token);
    if (r === null || this.guard.sourceAllowed(r.token, clientAddress)) return r;
    this.record(r, 'wrong-source', route, clientAddress);
    return null;
  }

  /** True when the token with this hash exists, is not revoked and has not expired. */
  isLive(hash: string): boolean {
    const t = this.ctx.registry.tokenGet(hash);
    return t !== null && t.revokedAt === null && Date.parse(t.expiresAt) > this.ctx.clock.now().getTime();
  }

  /** True when the MAC holds any token that is not revoked and has not expired. */
  anyLive(mac: string): boolean {
    return this.ctx.registry.tokenLiveExists(mac, this.ctx.clock.now().toISOString());
  }

  /** The guard's view of the tokens (guard.ts hold). */
  readonly liveness = { live: (hash: string): boolean => this.isLive(hash), anyLive: (mac: string): boolean => this.anyLive(mac) };

  /** Records a refused (expired or revoked) token use on the machine's timeline (folded); returns null (→ 404). */
  refuse(r: ResolvedToken, route: string, clientAddress: string): null {
    this.record(r, r.status, route, clientAddress);
    return null;
  }

  /** One event per (machine, outcome) per refusal window; the repeats in between are counted into the next. */
  private record(r: ResolvedToken, outcome: string, route: string, clientAddress: string): void {
    const admitted = this.guard.refusalAdmitted(r.machine.mac, `token-${outcome}`, this.ctx.clock.now().getTime());
    if (admitted === null) return;
    this.ctx.registry.eventAppend(r.machine.mac, BootEvents.token({
      outcome,
      route,
      bootId: r.token.bootId,
      client: clientAddress,
      ...(admitted.repeats > 0 ? { repeats: admitted.repeats } : {}),
    }));
  }
}
