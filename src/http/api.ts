// The REST API under /api/v1: one route table, used to register the routes, to build the OpenAPI document and by
// the tests that check every route answers 401 without the bearer token.

import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PxedError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BootEvent } from '../model/events.js';
import { machineMatcher } from '../model/search.js';
import {
  BootEventSchema,
  DeleteResponse,
  EventsQuery,
  LIST_PAGE_DEFAULT,
  ListQuery,
  MacParams,
  MachineCreateBody,
  MachinePatchBody,
  MachineSchema,
  PostInstallBody,
  PreviewQuery,
  ReinstallBody,
  RenderParams,
  describeIssues,
  normalizeMacLoose,
} from './schemas.js';
import type { AdminApi } from './types.js';
import type { ApiAuth } from './ui/session.js';

export const API_PREFIX = '/api/v1';

export type ApiMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface ApiContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  req: FastifyRequest;
  reply: FastifyReply;
}

/** One /api/v1 route. `url` is relative to the prefix, in fastify syntax (`/machines/:mac`). */
export interface ApiRoute {
  method: ApiMethod;
  url: string;
  summary: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** JSON response schema, or a content type for non-JSON answers (SSE, rendered artifacts). */
  response: z.ZodType | { contentType: string; description: string };
  /** Success status; 200 unless said. */
  status?: number;
  handler(ctx: ApiContext<unknown, unknown, unknown>): Promise<unknown>;
}

function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(def: {
  method: ApiMethod;
  url: string;
  summary: string;
  params?: P;
  query?: Q;
  body?: B;
  response: ApiRoute['response'];
  status?: number;
  handler(ctx: ApiContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}): ApiRoute {
  return def as ApiRoute;
}

/** Parses one part of the request with its schema; a failure is a 400 naming the field. */
function parsePart(where: string, schema: z.ZodType | undefined, value: unknown): unknown {
  if (schema === undefined) return value;
  const r = schema.safeParse(value ?? (where === 'body' ? {} : value));
  if (!r.success) throw new PxedError('HTTP_BAD_REQUEST', describeIssues(where, r.error));
  return r.data;
}

const notFound = (what: string): PxedError => new PxedError('HTTP_NOT_FOUND', `no such ${what}`);

export interface ApiOptions {
  admin: AdminApi;
  logger: Logger;
  sseHeartbeatMs: number;
  /** Concurrent SSE clients; more answer 503. */
  sseClients: number;
}

/** The route table. SSE streams are tracked in `streams` so that closing the app ends them. */
export function apiRoutes(opts: ApiOptions, streams: Set<() => void>): ApiRoute[] {
  const { admin } = opts;
  return [
    route({
      method: 'GET',
      url: '/machines',
      summary: 'List machines: by state, q (substring of MAC in any spelling, install entry, hostname or IP), one page (limit, offset); X-Total-Count has the match count',
      query: ListQuery,
      response: z.array(MachineSchema),
      handler: async ({ query, reply }) => {
        const all = await admin.list(query.state === undefined ? undefined : { state: query.state });
        let hits = all;
        if (query.q !== undefined && query.q.trim() !== '') {
          const match = machineMatcher(query.q);
          const hostnames = new Map(((await admin.entries?.()) ?? []).map((e) => [e.name, e.hostname]));
          hits = all.filter((m) => match({ ...m, hostname: m.host === null ? null : (hostnames.get(m.host) ?? null) }));
        }
        const offset = query.offset ?? 0;
        reply.header('x-total-count', String(hits.length));
        return hits.slice(offset, offset + (query.limit ?? LIST_PAGE_DEFAULT));
      },
    }),
    route({
      method: 'POST',
      url: '/machines',
      summary: 'Register a machine (a discovered one is adopted): MAC, install entry, install mode, force',
      body: MachineCreateBody,
      response: MachineSchema,
      status: 201,
      handler: async ({ body }) => admin.create({ ...body, mac: normalizeMacLoose(body.mac) }),
    }),
    route({
      method: 'GET',
      url: '/machines/:mac',
      summary: 'One machine',
      params: MacParams,
      response: MachineSchema,
      handler: async ({ params }) => {
        const m = await admin.get(normalizeMacLoose(params.mac));
        if (m === null) throw notFound('machine');
        return m;
      },
    }),
    route({
      method: 'PATCH',
      url: '/machines/:mac',
      summary: 'Change install entry, install mode or overrides',
      params: MacParams,
      body: MachinePatchBody,
      response: MachineSchema,
      handler: async ({ params, body }) => admin.update(normalizeMacLoose(params.mac), body),
    }),
    route({
      method: 'DELETE',
      url: '/machines/:mac',
      summary: 'Forget a machine with its events and tokens',
      params: MacParams,
      response: DeleteResponse,
      handler: async ({ params }) => {
        if ((await admin.delete(normalizeMacLoose(params.mac))) === false) throw notFound('machine');
        return { deleted: true };
      },
    }),
    route({
      method: 'POST',
      url: '/machines/:mac/reinstall',
      summary: 'Re-arm a machine (→ registered; its live tokens are revoked)',
      params: MacParams,
      body: ReinstallBody,
      response: MachineSchema,
      handler: async ({ params, body }) => admin.reinstall(normalizeMacLoose(params.mac), body.reason),
    }),
    route({
      method: 'POST',
      url: '/machines/:mac/post-install',
      summary:
        "Record a post stage run outside the daemon (pxed provision --server): a post-install event; started moves installed/configured → post-installing, ok/failed moves post-installing → configured/failed",
      params: MacParams,
      body: PostInstallBody,
      response: MachineSchema,
      handler: async ({ params, body }) => admin.postInstall(normalizeMacLoose(params.mac), body),
    }),
    route({
      method: 'GET',
      url: '/machines/:mac/events',
      summary: "One machine's timeline, oldest first",
      params: MacParams,
      query: EventsQuery,
      response: z.array(BootEventSchema),
      handler: async ({ params, query }) =>
        admin.events(normalizeMacLoose(params.mac), { afterId: query.after, limit: query.limit ?? 1000 }),
    }),
    route({
      method: 'GET',
      url: '/machines/:mac/render/:artifact',
      summary: 'Preview an artifact as the machine would get it (no live token is minted)',
      params: RenderParams,
      query: PreviewQuery,
      response: { contentType: 'text/plain', description: 'The rendered artifact, with its own content type' },
      handler: async ({ params, query, reply }) => {
        const doc = await admin.preview(normalizeMacLoose(params.mac), params.artifact, query);
        if (doc === null) throw notFound(`${params.artifact} for this machine`);
        return reply.header('content-type', doc.contentType).header('cache-control', 'no-store').send(doc.body);
      },
    }),
    route({
      method: 'GET',
      url: '/events',
      summary: "Every machine's events, oldest first, after an event id (a page of at most `limit`, default 1000)",
      query: EventsQuery,
      response: z.array(BootEventSchema),
      handler: async ({ query }) => admin.allEvents({ afterId: query.after, limit: Math.min(query.limit ?? 1000, 1000) }),
    }),
    route({
      method: 'GET',
      url: '/events/stream',
      summary: 'Server-sent events of every machine event; resumable with Last-Event-ID (or ?after=ID)',
      query: EventsQuery,
      response: { contentType: 'text/event-stream', description: '`id: <event id>` + `data: <BootEvent JSON>`; heartbeat comments' },
      handler: async ({ req, reply, query }) => {
        if (streams.size >= opts.sseClients) {
          throw new PxedError('HTTP_TOO_MANY_STREAMS', `at most ${opts.sseClients} event streams at once`, { status: 503 });
        }
        const header = req.headers['last-event-id'];
        const fromHeader = typeof header === 'string' && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : undefined;
        await streamEvents(reply, opts, streams, fromHeader ?? query.after);
        return reply;
      },
    }),
  ];
}

/** Most bytes queued for one slow SSE client before it is dropped (it resumes with Last-Event-ID). */
const SSE_MAX_QUEUED = 1024 * 1024;
const SSE_REPLAY_PAGE = 1000;

async function streamEvents(reply: FastifyReply, opts: ApiOptions, streams: Set<() => void>, afterId: number | undefined): Promise<void> {
  const { admin } = opts;
  const log = opts.logger;
  let sentId = afterId ?? -1;
  let replaying = afterId !== undefined;
  const pending: BootEvent[] = [];
  const res = reply.raw;
  let closed = false;

  const send = (ev: BootEvent): void => {
    if (closed || ev.id <= sentId) return;
    sentId = ev.id;
    res.write(`id: ${ev.id}\ndata: ${JSON.stringify(ev)}\n\n`);
    if (res.writableLength > SSE_MAX_QUEUED) {
      log.warn('sse client too slow, dropped', { queued: res.writableLength });
      end();
    }
  };
  // Subscribe before replaying so nothing committed in between is lost; `send` drops duplicates by id.
  const unsubscribe = admin.subscribe((ev) => (replaying ? pending.push(ev) : send(ev)));
  const heartbeat = setInterval(() => {
    if (!closed) res.write(': heartbeat\n\n');
  }, opts.sseHeartbeatMs);
  const end = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
    streams.delete(end);
    res.end();
  };
  streams.add(end);
  res.once('close', end);

  reply.hijack();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': pxed events\nretry: 3000\n\n');

  if (afterId !== undefined) {
    try {
      for (;;) {
        const page = await admin.allEvents({ afterId: sentId, limit: SSE_REPLAY_PAGE });
        for (const ev of page) send(ev);
        if (page.length < SSE_REPLAY_PAGE || closed) break;
      }
    } catch (err) {
      log.error('sse replay failed', { err: err as Error });
      end();
      return;
    }
    replaying = false;
    for (const ev of pending.splice(0)) send(ev);
  }
}

/** Constant-time bearer check: sha256 digests (equal length) compared with timingSafeEqual. */
export function bearerChecker(token: string | null): (authorization: string | undefined) => boolean {
  const digest = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();
  const want = token === null || token === '' ? null : digest(token);
  return (authorization) => {
    if (want === null || authorization === undefined) return false;
    const m = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!m) return false;
    return crypto.timingSafeEqual(digest(m[1]!), want);
  };
}

/**
 * Registers the table under API_PREFIX in its own encapsulated context, with the authorisation check (the bearer
 * token, or an admin page session with its anti-CSRF header for writes: ui/session.ts) as the first hook of every
 * route in it (including its 404 handler, so unknown /api/v1 paths also answer 401 first).
 */
export function registerApi(app: FastifyInstance, routes: readonly ApiRoute[], authorize: (req: FastifyRequest) => ApiAuth): void {
  void app.register(
    async (api) => {
      api.addHook('onRequest', async (req, reply) => {
        const auth = authorize(req);
        if (auth === 'csrf') {
          await reply.code(403).send({ error: 'HTTP_FORBIDDEN', message: 'admin page writes need the x-pxed-csrf header of the session' });
        } else if (auth !== 'ok') {
          await reply
            .code(401)
            .header('www-authenticate', 'Bearer realm="pxed"')
            .send({ error: 'HTTP_UNAUTHORIZED', message: 'missing or wrong bearer token' });
        }
      });
      for (const r of routes) {
        api.route({
          method: r.method,
          url: r.url,
          exposeHeadRoute: false,
          handler: async (req, reply) => {
            const params = parsePart('params', r.params, req.params);
            const query = parsePart('query', r.query, req.query);
            const body = parsePart('body', r.body, req.body);
            const out = await r.handler({ params, query, body, req, reply });
            if (out === reply) return reply;
            return reply.code(r.status ?? 200).send(out);
          },
        });
      }
      api.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'HTTP_NOT_FOUND', message: 'no such API route' }));
    },
    { prefix: API_PREFIX },
  );
}
