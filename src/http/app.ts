// The HTTP app: boot scripts and installer artifacts (through HttpBootPolicy), static assets, health, metrics, the
// admin page and the /api/v1 REST API (through AdminApi). Building is separate from listening: tests call
// buildHttpApp(...).inject(), the daemon uses HttpService (service.ts).

import http from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { HttpDocument } from '../boot/types.js';
import { PxedError, describeError } from '../errors.js';
import type { MachineState } from '../registry/types.js';
import { API_PREFIX, apiRoutes, bearerChecker, registerApi, type ApiRoute } from './api.js';
import { assetResolver, serveAsset } from './assets.js';
import { errorAnswer } from './errors.js';
import { HttpMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { TokenParams, describeIssues } from './schemas.js';
import type { HttpDeps } from './types.js';
import { SCRIPT_ROUTE, clientAddressOf, documentHeaders, scriptFastPath } from './script-fastpath.js';
import { uiApiRoutes } from './ui/page-api.js';
import { registerUi } from './ui/routes.js';
import { SessionStore, apiAuthorizer } from './ui/session.js';

export const HTTP_API_VERSION = '1.0.0';
export const PHONE_HOME_BODY_LIMIT = 32 * 1024 * 1024;

function sendDocument(reply: FastifyReply, doc: HttpDocument): FastifyReply {
  return reply.code(200).headers(documentHeaders(doc)).send(doc.body);
}

/** The /api/v1 route table including openapi.json (exported for tests that walk every route). */
export function apiRouteTable(deps: HttpDeps, streams: Set<() => void> = new Set()): ApiRoute[] {
  const routes = apiRoutes({ admin: deps.admin, logger: deps.logger, sseHeartbeatMs: deps.sseHeartbeatMs ?? 15_000 }, streams);
  routes.push(...uiApiRoutes(deps.admin, deps.entries));
  let doc: Record<string, unknown> | null = null;
  routes.push({
    method: 'GET',
    url: '/openapi.json',
    summary: 'This document (OpenAPI 3.1, generated from the request/response schemas)',
    response: { contentType: 'application/json', description: 'OpenAPI 3.1 document' },
    handler: async () => (doc ??= buildOpenApi(routes, HTTP_API_VERSION)),
  });
  return routes;
}

export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const log = deps.logger;
  const { policy, admin } = deps;
  const metrics = new HttpMetrics();
  const streams = new Set<() => void>();
  let closing = false;
  /** The error handler's mapping and log line, shared with the script fast path. */
  const answerError = (err: unknown, method: string, url: string): ReturnType<typeof errorAnswer> => {
    const answer = errorAnswer(err);
    if (answer.status >= 500) log.error('request failed', { method, url, err: describeError(err) });
    else log.debug('request refused', { method, url, status: answer.status, error: answer.body.error });
    return answer;
  };
  const fastPath = scriptFastPath({ policy, metrics, log, closing: () => closing, answerError });
  const app = Fastify({
    logger: false,
    // Plain GET /ipxe/<mac> requests are answered before the router (script-fastpath.ts); the rest go to fastify.
    // With a server factory, fastify leaves the server's timeouts to us: its defaults, set here.
    serverFactory: (handler) => {
      const server = http.createServer((req, res) => {
        if (!fastPath(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
    // stop() must not wait for wrk-style keep-alive clients or half-done downloads.
    forceCloseConnections: true,
    return503OnClosing: true,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 256 },
    // Malformed URLs (bad %-escapes) and the like: same JSON error shape as everything else.
    frameworkErrors: (err, _req, reply) => {
      const { status, body } = errorAnswer(err);
      void (reply as unknown as FastifyReply).code(status).send(status === 400 ? { error: 'HTTP_BAD_REQUEST', message: 'malformed request URL' } : body);
    },
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = answerError(err, req.method, req.url);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'HTTP_NOT_FOUND', message: 'no such route' }));

  // Callback style (not async): this runs on every request, the hot path of the benchmark.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.countRequest(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode);
    if (log.enabled('debug')) {
      log.debug('http', { method: req.method, url: req.url, status: reply.statusCode, client: clientAddressOf(req), ms: Math.round(reply.elapsedTime) });
    }
    done();
  });
  // SSE streams would otherwise hold close() open until the client goes away.
  app.addHook('preClose', async () => {
    closing = true;
    for (const end of [...streams]) end();
  });

  // ---- health, metrics, admin page ----
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (deps.ready() ? { status: 'ready' } : reply.code(503).send({ status: 'starting' })));
  app.get('/metrics', async (_req, reply) => {
    let counts: Partial<Record<MachineState, number>> | null = null;
    try {
      if (admin.counts) counts = await admin.counts();
      else {
        counts = {};
        for (const m of await admin.list()) counts[m.state] = (counts[m.state] ?? 0) + 1;
      }
    } catch (err) {
      log.warn('metrics: machine counts unavailable', { err: describeError(err) });
    }
    return reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(metrics.render(counts));
  });
  // The admin page (ui/ files) and its sessions; the API accepts the bearer token or a page session.
  const tokenOk = bearerChecker(deps.adminToken);
  const sessions = new SessionStore();
  registerUi(app, { sessions, tokenOk, logger: log, ...(deps.uiDir !== undefined ? { dir: deps.uiDir } : {}) });

  // ---- iPXE scripts ----
  app.get('/boot.ipxe', async (req, reply) => sendDocument(reply, policy.bootstrapScript(clientAddressOf(req))));
  // No HEAD on routes with side effects (a script fetch arms an install; an artifact fetch moves to installing).
  // The same answer as the fast path gives to plain URLs (script-fastpath.ts); this route takes every other form.
  app.get<{ Params: { mac: string }; Querystring: Record<string, string | undefined> }>(SCRIPT_ROUTE, { exposeHeadRoute: false }, async (req, reply) => {
    const query: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.query)) query[k] = Array.isArray(v) ? String(v[0]) : v;
    return sendDocument(reply, await policy.machineScript({ mac: req.params.mac, query, clientAddress: clientAddressOf(req) }));
  });

  // ---- installer artifacts (per-boot token) ----
  for (const family of ['nocloud', 'nixos'] as const) {
    app.get<{ Params: { token: string; name: string } }>(`/${family}/:token/:name`, { exposeHeadRoute: false }, async (req, reply) => {
      const doc = await policy.tokenArtifact({ family, token: req.params.token, name: req.params.name, clientAddress: clientAddressOf(req) });
      if (doc === null) return reply.code(404).send({ error: 'HTTP_NOT_FOUND', message: 'no such artifact' });
      return sendDocument(reply, doc);
    });
  }

  // ---- phone-home: token in the path instead of the bearer; takes any content type and parses JSON itself,
  // because scripts often post with curl -d (application/x-www-form-urlencoded) ----
  void app.register(async (ph) => {
    ph.removeAllContentTypeParsers();
    ph.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    // curtin's webhook reporter may attach install logs to its final events: allow more than the 1 MiB default.
    ph.post<{ Params: { token: string } }>(`${API_PREFIX}/boot/:token/events`, { bodyLimit: PHONE_HOME_BODY_LIMIT }, async (req, reply) => {
      const p = TokenParams.safeParse(req.params);
      if (!p.success) throw new PxedError('HTTP_BAD_REQUEST', describeIssues('params', p.error), { status: 400 });
      let body: unknown;
      try {
        if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new Error('empty');
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        throw new PxedError('HTTP_BAD_REQUEST', 'body: must be a JSON document', { status: 400 });
      }
      const out = await policy.phoneHome({ token: p.data.token, body, clientAddress: clientAddressOf(req) });
      if (out === null) return reply.code(404).send({ error: 'HTTP_NOT_FOUND', message: 'unknown or expired token' });
      return reply.send(out);
    });
  });

  // ---- assets: GET and HEAD handled by one function (HEAD is not fastify's auto-HEAD: no body is read) ----
  const resolver = assetResolver(deps.assetRoots, deps.ipxeBinRoots);
  app.route({
    method: ['GET', 'HEAD'],
    url: '/assets/*',
    exposeHeadRoute: false,
    handler: async (req, reply) => serveAsset(req, reply, resolver, policy, clientAddressOf(req)),
  });

  // ---- REST API ----
  registerApi(app, apiRouteTable(deps, streams), apiAuthorizer(tokenOk, sessions));
  return app;
}
