// The admin page: real files under the repository's ui/ folder served with @fastify/static under /ui/, sign-in and
// sign-out at /ui/session, and GET / sending the browser to the right page. Only the sign-in page, its script and
// the stylesheet are readable without a session; everything else under /ui/ answers 401 (or redirects pages to
// the sign-in page).

import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PxedError } from '../../errors.js';
import { rateLimited, type Logger } from '../../log.js';
import { shippedDir } from '../../shipped.js';
import { CLEAR_COOKIE, SessionStore, sessionCookie } from './session.js';

/** The page's CSP: its own files only; no inline script or style, nothing from elsewhere (the LAN may be offline). */
export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PUBLIC_FILES = new Set(['/ui/signin.html', '/ui/signin.js', '/ui/app.css']);
const SIGNIN = '/ui/signin.html';

/** The repository's ui/ folder (found beside the code, like templates/). */
export function defaultUiDir(): string {
  return shippedDir('ui', 'index.html');
}

export interface UiOptions {
  sessions: SessionStore;
  /** The constant-time admin token check (api.ts bearerChecker), applied to `Bearer <typed token>`. */
  tokenOk: (authorization: string | undefined) => boolean;
  logger: Logger;
  dir?: string;
}

const SignInBody = z.object({ token: z.string().min(1).max(512) }).strict();

function secureRequest(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store');
}

export function registerUi(app: FastifyInstance, opts: UiOptions): void {
  const { sessions, logger: log } = opts;
  // A client guessing tokens must not flood the log: a few lines per client a minute, then a count.
  const warnRefused = rateLimited(log, 5, 60_000);
  const root = opts.dir ?? defaultUiDir();

  app.get('/', async (req, reply) => pageHeaders(reply).redirect(sessions.of(req) !== null ? '/ui/' : SIGNIN, 303));

  // Sign-in: the typed token is checked in constant time; a wrong one answers 401 and sets nothing.
  app.post('/ui/session', async (req, reply) => {
    const body = SignInBody.safeParse(req.body);
    if (!body.success) throw new PxedError('HTTP_BAD_REQUEST', 'body: expected {"token": "..."}', { status: 400 });
    if (!opts.tokenOk(`Bearer ${body.data.token}`)) {
      warnRefused(`signin:${req.ip}`, 'admin page sign-in refused', { client: req.ip });
      return pageHeaders(reply).code(401).send({ error: 'HTTP_UNAUTHORIZED', message: 'wrong admin token' });
    }
    const s = sessions.create();
    log.info('admin page sign-in', { client: req.ip });
    return pageHeaders(reply)
      .header('set-cookie', sessionCookie(s.id, sessions.ttlMs, secureRequest(req)))
      .send({ csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString() });
  });
  // The page asks for its anti-CSRF value on load (it keeps it in memory only).
  app.get('/ui/session', async (req, reply) => {
    const s = sessions.of(req);
    if (s === null) return pageHeaders(reply).code(401).send({ error: 'HTTP_UNAUTHORIZED', message: 'not signed in' });
    return pageHeaders(reply).send({ csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString() });
  });
  // Sign-out needs the anti-CSRF header too (a cross-site page must not be able to sign the operator out).
  app.delete('/ui/session', async (req, reply) => {
    const s = sessions.of(req);
    if (s !== null && !sessions.csrfOk(req, s)) return pageHeaders(reply).code(403).send({ error: 'HTTP_FORBIDDEN', message: 'missing anti-CSRF header' });
    sessions.end(req);
    return pageHeaders(reply).header('set-cookie', CLEAR_COOKIE).send({ signedOut: true });
  });

  void app.register(async (ui) => {
    ui.addHook('onRequest', async (req, reply) => {
      const url = req.url.split('?')[0]!;
      if (req.method === 'POST' || req.method === 'DELETE' || url === '/ui/session') return;
      if (PUBLIC_FILES.has(url) || sessions.of(req) !== null) return;
      if (url === '/ui/' || url.endsWith('.html')) return pageHeaders(reply).redirect(SIGNIN, 303);
      return pageHeaders(reply).code(401).send({ error: 'HTTP_UNAUTHORIZED', message: 'not signed in' });
    });
    await ui.register(fastifyStatic, {
      root,
      prefix: '/ui/',
      index: 'index.html',
      decorateReply: false,
      dotfiles: 'deny',
      etag: false,
      lastModified: false,
      cacheControl: false,
      setHeaders: (reply) => {
        pageHeaders(reply);
      },
    });
  });
}
