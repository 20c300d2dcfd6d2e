// The HTTP app: boot scripts and installer artifacts (through HttpBootPolicy), static assets, health, metrics, the
// admin page and the /api/v1 REST API (through AdminApi). Building is separate from listening: tests call
// buildHttpApp(...).inject(), the daemon uses HttpService (service.ts).

import http from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { HttpDocument } from './types.js';
import { PxedError, describeError } from '../errors.js';
import type { MachineState } from '../model/machine.js';
import { rateLimited } from '../log.js';
import { API_PREFIX, apiRoutes, bearerChecker, registerApi, type ApiRoute } from './api.js';
import { assetResolver, serveAsset } from './assets.js';
import { errorAnswer } from './errors.js';
import { applyServerLimits, httpLimits, jsonDepthWithin, redactUrl } from './limits.js';
import { HttpMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { TokenParams, describeIssues } from './schemas.js';
import type { HttpDeps } from './types.js';
import { SCRIPT_ROUTE, clientAddressOf, documentHeaders, scriptFastPath } from './script-fastpath.js';
import { uiApiRoutes } from './ui/page-api.js';
import { registerUi } from './ui/routes.js';
import { SessionStore, apiAuthorizer } from './ui/session.js';

export const HTTP_API_VERSION = '1.0.0';

function sendDocument(reply: FastifyReply, doc: HttpDocument): FastifyReply {
  return reply.code(200).headers(documentHeaders(doc)).send(doc.body);
}

/** The /api/v1 route table including openapi.json (exported for tests that walk every route). */
export function apiRouteTable(deps: HttpDeps, streams: Set<() => void> = new Set()): ApiRoute[] {
  const routes = apiRoutes(
    { admin: deps.admin, logger: deps.logger, sseHeartbeatMs: deps.sseHeartbeatMs ?? 15_000, sseClients: httpLimits(deps.limits).sseClients },
    streams,
  );
  routes.push(...uiApiRoutes(deps.admin));
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

/** Ends the admin page's event streams (SSE) of an app; the daemon's graceful stop calls it before draining. */
const streamEnders = new WeakMap<FastifyInstance, () => void>();
export function endStreams(app: FastifyInstance): void {
  streamEnders.get(app)?.();
}

export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const log = deps.logger;
  const { policy, admin } = deps;
  const metrics = deps.metrics ?? new HttpMetrics();
  metrics.metrics.machinesFrom(async () => {
    if (admin.counts) return admin.counts();
    const counts: Partial<Record<MachineState, number>> = {};
    for (const m of await admin.list()) counts[m.state] = (counts[m.state] ?? 0) + 1;
    return counts;
  });
  const limits = httpLimits(deps.limits);
  const warnLimited = rateLimited(log, 5, 60_000);
  const streams = new Set<() => void>();
  let closing = false;
  /** The error handler's mapping and log line, shared with the script fast path. */
  const answerError = (err: unknown, method: string, url: string): ReturnType<typeof errorAnswer> => {
    const answer = errorAnswer(err);
    if (answer.status >= 500) log.error('request failed', { method, url: redactUrl(url), err: describeError(err) });
    else log.debug('request refused', { method, url: redactUrl(url), status: answer.status, error: answer.body.error });
    return answer;
  };
  const fastPath = scriptFastPath({ policy, metrics, log, closing: () => closing, answerError });
  const app = Fastify({
    // One pino instance for pxed and fastify: HTTP lines carry the request id (reqId). Fastify's own per-request
    // lines are off (the onResponse hook below logs at debug), so an info-level daemon writes nothing per request.
    loggerInstance: log.pino as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Plain GET /ipxe/<mac> requests are answered before the router (script-fastpath.ts); the rest go to fastify.
    // With a server factory, fastify leaves the server's timeouts to us: limits.ts sets them and the connection caps.
    // nosniff goes on every answer here, before any route (hijacked and fast-path answers included).
    serverFactory: (handler) => {
      const server = http.createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
        res.setHeader('x-content-type-options', 'nosniff');
        if (!fastPath(req, res)) handler(req, res);
      });
      applyServerLimits(server, limits, (address) => warnLimited(`conn:${address}`, 'connection refused: per-client cap reached', { client: address, cap: limits.perClientConnections }));
      return server;
    },
    // stop() must not wait for wrk-style keep-alive clients or half-done downloads.
    forceCloseConnections: true,
    return503OnClosing: true,
    bodyLimit: limits.apiBodyBytes,
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
    metrics.countRequest(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    if (log.enabled('debug')) {
      req.log.debug({ method: req.method, url: redactUrl(req.url), status: reply.statusCode, client: clientAddressOf(req), ms: Math.round(reply.elapsedTime) }, 'http');
    }
    done();
  });
  // SSE streams would otherwise hold close() open until the client goes away.
  const endAll = (): void => {
    for (const end of [...streams]) end();
  };
  streamEnders.set(app, endAll);
  app.addHook('preClose', async () => {
    closing = true;
    endAll();
  });

  // ---- health, metrics, admin page ----
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (!deps.ready()) return reply.code(503).send({ status: 'starting' });
    const problem = deps.health?.() ?? null;
    return problem === null ? { status: 'ready' } : reply.code(503).send({ status: 'unhealthy', reason: `registry: ${problem}` });
  });
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.header('content-type', contentType).send(body);
  });
  // The admin page (the ui/ files) and its sessions; the API takes the bearer token or a page session.
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
  // because scripts often post with curl -d (application/x-www-form-urlencoded). The token is checked in onRequest,
  // before a byte of the body is read: an unknown token gets its 404 at once and the connection is closed. ----
  void app.register(async (ph) => {
    ph.removeAllContentTypeParsers();
    ph.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    ph.addHook('onRequest', async (req, reply) => {
      const token = (req.params as { token?: unknown }).token;
      if (typeof token === 'string' && policy.tokenKnown !== undefined && !policy.tokenKnown(token, clientAddressOf(req))) {
        await reply.code(404).header('connection', 'close').send({ error: 'HTTP_NOT_FOUND', message: 'unknown or expired token' });
      }
    });
    ph.post<{ Params: { token: string } }>(`${API_PREFIX}/boot/:token/events`, { bodyLimit: limits.phoneHomeBodyBytes }, async (req, reply) => {
      const p = TokenParams.safeParse(req.params);
      if (!p.success) throw new PxedError('HTTP_BAD_REQUEST', describeIssues('params', p.error));
      let body: unknown;
      try {
        if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new Error('empty');
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        throw new PxedError('HTTP_BAD_REQUEST', 'body: must be a JSON document');
      }
      if (!jsonDepthWithin(body, limits.jsonMaxDepth)) {
        throw new PxedError('HTTP_BAD_REQUEST', `body: nested deeper than ${limits.jsonMaxDepth} levels`, { status: 400 });
      }
      const out = await policy.phoneHome({ token: p.data.token, body, clientAddress: clientAddressOf(req) });
      // The same 404 (status, headers, body) as the early refusal above: unknown, expired and wrongly-sourced tokens
      // must not be told apart.
      if (out === null) return reply.code(404).header('connection', 'close').send({ error: 'HTTP_NOT_FOUND', message: 'unknown or expired token' });
      return reply.send(out);
    });
  });

  // ---- assets: GET and HEAD handled by one function (HEAD is not fastify's auto-HEAD: no body is read) ----
  const resolver = assetResolver(deps.assetRoots, deps.ipxeBinRoots);
  app.route({
    method: ['GET', 'HEAD'],
    url: '/assets/*',
    exposeHeadRoute: false,
    handler: async (req, reply) => serveAsset(req, reply, resolver, policy, clientAddressOf(req), limits.assetStallMs),
  });

  // ---- REST API ----
  registerApi(app, apiRouteTable(deps, streams), apiAuthorizer(tokenOk, sessions));
  return app;
}
