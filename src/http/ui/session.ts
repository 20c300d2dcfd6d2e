// Admin page sessions. The operator signs in once with the admin token; the page then holds only a session id in
// an HttpOnly cookie (no script can read it, on this path or any other of the origin) and a per-session anti-CSRF
// value it must echo in the `x-pxed-csrf` header of every write. The admin token itself never reaches the page's
// storage. Sessions live in memory: they end at their absolute expiry, at sign-out, or when the daemon restarts.
//
// Why writes are CSRF-proof twice over: the cookie is SameSite=Strict (a cross-site page cannot make the browser
// send it), and a cross-site page cannot set a custom header without a CORS preflight, which pxed never grants.

import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'pxed_session';
export const CSRF_HEADER = 'x-pxed-csrf';
/** How long a session lasts from sign-in (absolute, not sliding). */
export const SESSION_TTL_MS = 8 * 3600_000;
/** Most live sessions; signing in beyond that ends the oldest. */
const MAX_SESSIONS = 64;

interface Session {
  csrf: string;
  expiresAt: number;
}

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();
const sameSecret = (a: string, b: string): boolean => crypto.timingSafeEqual(digest(a), digest(b));

/** The cookie's value from a Cookie header (first occurrence), or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

export class SessionStore {
  /** Keyed by sha256(session id): a memory dump does not hand out usable cookies. */
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly now: () => number = Date.now,
    readonly ttlMs = SESSION_TTL_MS,
  ) {}

  /** A new session: its id (for the cookie) and its anti-CSRF value (for the page). */
  create(): { id: string; csrf: string; expiresAt: number } {
    this.sweep();
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = crypto.randomBytes(32).toString('base64url');
    const csrf = crypto.randomBytes(24).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.sessions.set(digest(id).toString('hex'), { csrf, expiresAt });
    return { id, csrf, expiresAt };
  }

  /** The live session of a request's cookie, or null. */
  of(req: FastifyRequest): (Session & { key: string }) | null {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id === null || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const key = digest(id).toString('hex');
    const s = this.sessions.get(key);
    if (s === undefined) return null;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return null;
    }
    return { ...s, key };
  }

  /** True when the request carries a live session and, for writes, its anti-CSRF header. */
  csrfOk(req: FastifyRequest, session: Session): boolean {
    const h = req.headers[CSRF_HEADER];
    return typeof h === 'string' && sameSecret(h, session.csrf);
  }

  end(req: FastifyRequest): void {
    const s = this.of(req);
    if (s !== null) this.sessions.delete(s.key);
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(k);
  }
}

/** Set-Cookie for a new session (Secure when the page was reached over TLS, e.g. behind a proxy). */
export function sessionCookie(id: string, maxAgeMs: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}${secure ? '; Secure' : ''}`;
}

export const CLEAR_COOKIE = `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;

export type ApiAuth = 'ok' | 'unauthorized' | 'csrf';

/**
 * How an /api/v1 request is authorised: the bearer token (CLI, scripts), or the page's session cookie; a session
 * write (anything but GET/HEAD) must also carry the anti-CSRF header.
 */
export function apiAuthorizer(bearerOk: (authorization: string | undefined) => boolean, sessions: SessionStore | null): (req: FastifyRequest) => ApiAuth {
  return (req) => {
    if (bearerOk(req.headers.authorization)) return 'ok';
    const s = sessions?.of(req) ?? null;
    if (s === null) return 'unauthorized';
    if (req.method === 'GET' || req.method === 'HEAD') return 'ok';
    return sessions!.csrfOk(req, s) ? 'ok' : 'csrf';
  };
}
