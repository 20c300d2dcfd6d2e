// Resource limits of the HTTP side (docs/security.md lists each with its default and why): connection caps, timeouts,
// body sizes, and the helpers that enforce what Node's server does not (per-client connection cap, JSON nesting
// depth, token redaction in logged URLs).

import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpLimits {
  /** Open connections in total (Node drops the ones beyond). */
  maxConnections: number;
  /** Open connections from one client address; more are closed at once. A booting machine needs one or two. */
  perClientConnections: number;
  /** Time to receive the request headers. Node counts it from the connection's accept (or the previous request's
   * end on a kept-alive one), so it includes TCP re-sends of a lost request segment: on a lossy link under a boot
   * storm those back off to seconds (10 s failed 1 of 4 000 fetches at 5 % loss, docs/benchmarks.md). */
  headersTimeoutMs: number;
  /** Time to receive the whole request, body included (slow-body clients); never below headersTimeoutMs. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** No socket activity in either direction for this long ends the connection (a client that stopped sending). SSE
   * streams send heartbeats more often than this. */
  idleTimeoutMs: number;
  /** An asset download whose client has taken no byte for this long is ended (the client resumes with Range). */
  assetStallMs: number;
  /** Phone-home body: the largest real Subiquity/curtin event is well under this (docs/security.md). */
  phoneHomeBodyBytes: number;
  /** Admin API bodies (a machine create/patch is well under 1 KiB). */
  apiBodyBytes: number;
  /** Nesting depth of a phone-home JSON document; deeper is a 400. */
  jsonMaxDepth: number;
  /** Concurrent SSE clients of /api/v1/events/stream; more answer 503. */
  sseClients: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxConnections: 512,
  perClientConnections: 16,
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  assetStallMs: 20_000,
  phoneHomeBodyBytes: 1024 * 1024,
  apiBodyBytes: 64 * 1024,
  jsonMaxDepth: 32,
  sseClients: 8,
});

export function httpLimits(over: Partial<HttpLimits> | undefined): Readonly<HttpLimits> {
  return Object.freeze({ ...DEFAULT_HTTP_LIMITS, ...over });
}

/**
 * Applies the timeouts and the total cap to `server` and enforces the per-client cap on each new connection.
 * `onRefused(address)` is called for each connection closed by the per-client cap (for a rate-limited log line).
 */
export function applyServerLimits(server: Server, limits: Readonly<HttpLimits>, onRefused: (address: string) => void): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.setTimeout(limits.idleTimeoutMs, (socket: Socket) => socket.destroy());
  const perClient = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const n = (perClient.get(address) ?? 0) + 1;
    if (n > limits.perClientConnections) {
      socket.destroy();
      onRefused(address);
      return;
    }
    perClient.set(address, n);
    socket.once('close', () => {
      const left = (perClient.get(address) ?? 1) - 1;
      if (left <= 0) perClient.delete(address);
      else perClient.set(address, left);
    });
  });
}

/** True when `value` (a parsed JSON document) nests no deeper than `max` arrays/objects. Iterative: a hostile
 * document cannot exhaust the stack here. */
export function jsonDepthWithin(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return false;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return true;
}

/** Routes whose path segment after the prefix is a per-boot token. */
const TOKEN_SEGMENT = /^(\/(?:nocloud|nixos|api\/v1\/boot)\/)[^/?#]+/;

/** The URL as it may be logged: a token path segment becomes `<token>`. Every logged URL goes through this. */
export function redactUrl(url: string): string {
  return url.replace(TOKEN_SEGMENT, '$1<token>');
}

/** The config's http.limits (snake_case, seconds/KiB) as HttpLimits overrides. */
export function limitsFromConfig(c: {
  max_connections?: number | undefined;
  per_client_connections?: number | undefined;
  request_timeout_seconds?: number | undefined;
  idle_timeout_seconds?: number | undefined;
  asset_stall_seconds?: number | undefined;
  phone_home_body_kib?: number | undefined;
  sse_clients?: number | undefined;
}): Partial<HttpLimits> {
  const out: Partial<HttpLimits> = {};
  if (c.max_connections !== undefined) out.maxConnections = c.max_connections;
  if (c.per_client_connections !== undefined) out.perClientConnections = c.per_client_connections;
  if (c.request_timeout_seconds !== undefined) out.requestTimeoutMs = c.request_timeout_seconds * 1000;
  if (c.idle_timeout_seconds !== undefined) out.idleTimeoutMs = c.idle_timeout_seconds * 1000;
  if (c.asset_stall_seconds !== undefined) out.assetStallMs = c.asset_stall_seconds * 1000;
  if (c.phone_home_body_kib !== undefined) out.phoneHomeBodyBytes = c.phone_home_body_kib * 1024;
  if (c.sse_clients !== undefined) out.sseClients = c.sse_clients;
  return out;
}

/**
 * Where the HTTP service binds: http.listen if set, else the provisioning address. Binding wider than the
 * provisioning address (0.0.0.0, another interface) puts the installer routes, the API and the admin page there too:
 * `warn` is told so once.
 */
export function httpListenAddress(listen: string | undefined, serverAddress: string, warn: (msg: string, fields: Record<string, unknown>) => void): string {
  const host = listen ?? serverAddress;
  if (host !== serverAddress) {
    warn('http.listen is wider than the provisioning address: installer routes, the API and the admin page answer there too', {
      listen: host,
      provisioning: serverAddress,
    });
  }
  return host;
}
