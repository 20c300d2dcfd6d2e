// GET /ipxe/:mac before fastify's router. Every netbooting machine asks for its script here, often in loops (an
// installed machine reboots into local boot through it), so this request gets a path without the framework's
// per-request machinery: it parses the plain URL form iPXE's bootstrap script produces, calls the same policy method
// as the fastify route, and answers with the same status, headers, body, metrics and log line.
//
// Contract: the fast path takes a request only when its answer cannot differ from the fastify route's —
//   GET, the server not closing, path exactly /ipxe/<seg> with <seg> of [A-Za-z0-9:._-] (nothing to decode),
//   a query of key=value pairs with keys of [A-Za-z0-9_-] and values without '+' whose %-escapes are valid UTF-8
//   (decoded as fastify does; the first of repeated keys wins, as the route takes v[0]).
// Anything else returns false and goes to fastify (HEAD → 404, bad escapes → 400, trailing slash → 404, ...).

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { HttpBootPolicy, HttpDocument } from '../boot/types.js';
import type { Logger } from '../log.js';
import type { HttpMetrics } from './metrics.js';

export const SCRIPT_ROUTE = '/ipxe/:mac';
const PREFIX = '/ipxe/';
const SEGMENT = /^[A-Za-z0-9:._-]{1,64}$/;
const KEY = /^[A-Za-z0-9_-]{1,32}$/;

/** Headers of every boot document (scripts and installer artifacts). A literal with constant keys: Node takes it as
 * it is. Content-Length is explicit: iPXE needs it (protocol.md §10). */
export function documentHeaders(doc: HttpDocument): { 'content-type': string; 'cache-control': string; 'content-length': string } {
  return { 'content-type': doc.contentType, 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(doc.body)) };
}

/** IPv4 clients on a dual-stack socket appear as ::ffff:a.b.c.d; the policy and timelines want a.b.c.d. */
export function clientAddressOf(req: { socket: { remoteAddress?: string | undefined } }): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The MAC segment and query of a plain /ipxe/<mac> URL, or null when the general route must take it. */
export function parsePlainScriptUrl(url: string): { mac: string; query: Record<string, string> } | null {
  if (!url.startsWith(PREFIX)) return null;
  const q = url.indexOf('?');
  const mac = q === -1 ? url.slice(PREFIX.length) : url.slice(PREFIX.length, q);
  if (!SEGMENT.test(mac)) return null;
  const query: Record<string, string> = {};
  if (q === -1 || q === url.length - 1) return { mac, query };
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq === -1) return null;
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    if (!KEY.test(key) || key === '__proto__' || raw.includes('+')) return null;
    let value = raw;
    if (raw.includes('%')) {
      try {
        value = decodeURIComponent(raw);
      } catch {
        return null;
      }
    }
    if (!Object.hasOwn(query, key)) query[key] = value;
  }
  return { mac, query };
}

export interface ScriptFastPathDeps {
  policy: HttpBootPolicy;
  metrics: HttpMetrics;
  log: Logger;
  /** True once the app is closing: fastify then answers 503 (return503OnClosing). */
  closing: () => boolean;
  /** The app's error mapping (the same one fastify's error handler uses). */
  answerError: (err: unknown, method: string, url: string) => { status: number; body: unknown };
}

/** A request listener that answers plain /ipxe/<mac> GETs and returns false for everything else. */
export function scriptFastPath(deps: ScriptFastPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { policy, metrics, log } = deps;
  const finish = (req: IncomingMessage, res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string | Buffer, started: number): void => {
    res.writeHead(status, headers);
    res.end(body);
    metrics.countRequest(SCRIPT_ROUTE, 'GET', status);
    if (log.enabled('debug')) {
      log.debug('http', { method: 'GET', url: req.url, status, client: clientAddressOf(req), ms: Math.round(performance.now() - started) });
    }
  };
  return (req, res) => {
    if (req.method !== 'GET' || req.url === undefined || deps.closing()) return false;
    const plain = parsePlainScriptUrl(req.url);
    if (plain === null) return false;
    const started = performance.now();
    const url = req.url;
    policy.machineScript({ mac: plain.mac, query: plain.query, clientAddress: clientAddressOf(req) }).then(
      (doc) => finish(req, res, 200, documentHeaders(doc), doc.body, started),
      (err: unknown) => {
        // As fastify sends an error object: JSON with its type and length.
        const { status, body } = deps.answerError(err, 'GET', url);
        const json = JSON.stringify(body);
        finish(req, res, status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(json)) }, json, started);
      },
    );
    return true;
  };
}
