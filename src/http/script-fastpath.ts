// GET /ipxe/:mac before fastify's router. Every netbooting machine asks for its script here, often in loops (an
// installed machine reboots into local boot through it), so this request gets a path without the framework's
// per-request machinery: it parses the plain URL form iPXE's bootstrap script produces, asks the policy (its
// machineScript is synchronous: no promise per request) and answers with the same status, headers, body, metrics and
// log line as the fastify route. Renders share a budget per event-loop turn (turns.ts): past it, a request waits, in
// arrival order, for a later turn, so that new connections are accepted and timers run between renders.
//
// Contract: the fast path takes a request only when its answer cannot differ from the fastify route's —
//   GET, the server not closing, path exactly /ipxe/<seg> with <seg> of [A-Za-z0-9:._-] (nothing to decode),
//   a query of key=value pairs with keys of [A-Za-z0-9_-] and values without '+' whose %-escapes are valid UTF-8
//   (decoded as fastify does; the first of repeated keys wins, as the route takes v[0]).
// Anything else returns false and goes to fastify (HEAD → 404, bad escapes → 400, trailing slash → 404, ...).

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { HttpBootPolicy, HttpDocument } from './types.js';
import type { Logger } from '../log.js';
import type { HttpMetrics } from './metrics.js';
import { TurnBudget } from './turns.js';

export const SCRIPT_ROUTE = '/ipxe/:mac';
const PREFIX = '/ipxe/';
/** [A-Za-z0-9:._-]: the characters of a MAC segment that need no decoding. */
function isSegmentChar(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 45;
}

/** [A-Za-z0-9_-]: query keys taken as they are. */
function isKeyChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

const QUESTION = 63;
const EQUALS = 61;
const AMPERSAND = 38;
const PLUS = 43;
const PERCENT = 37;

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

/**
 * The MAC segment and query of a plain /ipxe/<mac> URL, or null when the general route must take it.
 * One pass over the characters (every netbooting machine's script request comes through here).
 */
export function parsePlainScriptUrl(url: string): { mac: string; query: Record<string, string> } | null {
  if (!url.startsWith(PREFIX)) return null;
  const n = url.length;
  let i = PREFIX.length;
  while (i < n && isSegmentChar(url.charCodeAt(i))) i++;
  const segmentLength = i - PREFIX.length;
  if (segmentLength === 0 || segmentLength > 64 || (i < n && url.charCodeAt(i) !== QUESTION)) return null;
  const mac = url.slice(PREFIX.length, i);
  const query: Record<string, string> = {};
  i++; // past '?' (or past the end)
  while (i < n) {
    const keyStart = i;
    while (i < n && isKeyChar(url.charCodeAt(i))) i++;
    const keyLength = i - keyStart;
    // A pair needs key=value: '&&', 'flag' and keys with other characters go to fastify.
    if (keyLength === 0 || keyLength > 32 || i === n || url.charCodeAt(i) !== EQUALS) return null;
    const key = url.slice(keyStart, i);
    i++;
    const valueStart = i;
    let escaped = false;
    for (; i < n; i++) {
      const c = url.charCodeAt(i);
      if (c === AMPERSAND) break;
      if (c === PLUS) return null; // '+' is a space to fastify's parser
      if (c === PERCENT) escaped = true;
    }
    let value = url.slice(valueStart, i);
    if (escaped) {
      try {
        value = decodeURIComponent(value);
      } catch {
        return null;
      }
    }
    if (key === '__proto__') return null;
    if (!Object.hasOwn(query, key)) query[key] = value; // the route takes the first of repeated keys
    if (i < n && ++i === n) return null; // a trailing '&' is an empty pair
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
  /** The per-turn budget of renders (turns.ts); one of its own by default (writing a turn's queued renders in one
   * registry transaction when the policy offers inOneWrite). */
  turns?: TurnBudget;
}

/** A request listener that answers plain /ipxe/<mac> GETs and returns false for everything else. */
export function scriptFastPath(deps: ScriptFastPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { policy, metrics, log } = deps;
  /** While a turn's queued renders run in one transaction: their answers, sent once it has committed (or turned into
   * the error answer if the commit fails: their tokens never existed). */
  let held: Array<(err: unknown) => void> | null = null;
  /** TurnBudget's `around`: one transaction for the renders a turn runs from its queue (under load, nearly all of
   * them): one BEGIN/COMMIT and one WAL frame per page they share, instead of one each (docs/benchmarks.md). */
  const inOneWrite = (runQueued: () => void): void => {
    const answers: Array<(err: unknown) => void> = [];
    let began = false;
    held = answers;
    try {
      policy.inOneWrite!(() => {
        began = true;
        runQueued();
      });
    } catch (err) {
      held = null;
      if (!began) runQueued(); // the transaction could not begin (e.g. another process held the lock): one write each
      for (const send of answers) send(err);
      return;
    }
    held = null;
    for (const send of answers) send(undefined);
  };
  const turns = deps.turns ?? new TurnBudget(undefined, undefined, undefined, policy.inOneWrite === undefined ? null : inOneWrite);
  const ok = metrics.counter(SCRIPT_ROUTE, 'GET', 200);
  const finish = (req: IncomingMessage, res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string | Buffer, started: number): void => {
    res.writeHead(status, headers);
    res.end(body);
    const seconds = (performance.now() - started) / 1000;
    if (status === 200) ok.done(seconds);
    else metrics.countRequest(SCRIPT_ROUTE, 'GET', status, seconds);
    if (log.enabled('debug')) {
      log.debug('http', { method: 'GET', url: req.url, status, client: clientAddressOf(req), ms: Math.round(performance.now() - started) });
    }
  };
  /** The listener must never throw (that would end the daemon): if the error answer cannot be sent either, the
   * connection drops. */
  const fail = (req: IncomingMessage, res: ServerResponse, url: string, err: unknown, started: number): void => {
    try {
      // As fastify sends an error object: JSON with its type and length.
      const { status, body } = deps.answerError(err, 'GET', url);
      const json = JSON.stringify(body);
      finish(req, res, status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(json)) }, json, started);
    } catch {
      res.destroy();
    }
  };
  /** A document Node cannot send (a policy bug, e.g. a header value with a newline, or no document at all) becomes the
   * error answer if nothing has gone out yet, else the connection drops. */
  const answer = (req: IncomingMessage, res: ServerResponse, url: string, doc: HttpDocument, started: number): void => {
    try {
      finish(req, res, 200, documentHeaders(doc), doc.body, started);
    } catch (err) {
      if (res.headersSent) res.destroy();
      else fail(req, res, url, err, started);
    }
  };

  const serve = (req: IncomingMessage, res: ServerResponse, url: string, plain: { mac: string; query: Record<string, string> }, started: number): void => {
    // A request that waited for a later turn (turns.ts) and whose client has gone meanwhile (or whose connection the
    // server's stop destroyed) is not rendered: nothing would receive the answer, and nothing is written for it.
    if (req.socket.destroyed) return;
    const request = { mac: plain.mac, query: plain.query, clientAddress: clientAddressOf(req) };
    let doc: HttpDocument;
    try {
      doc = policy.machineScript(request);
    } catch (err) {
      fail(req, res, url, err, started); // its own writes are undone whatever the batch's fate
      return;
    }
    if (held === null) answer(req, res, url, doc, started);
    else held.push((err) => (err === undefined ? answer(req, res, url, doc, started) : fail(req, res, url, err, started)));
  };

  return (req, res) => {
    if (req.method !== 'GET' || req.url === undefined || deps.closing()) return false;
    const url = req.url;
    const plain = parsePlainScriptUrl(url);
    if (plain === null) return false;
    // Timed from arrival: the metrics' duration includes any wait for a later turn.
    const started = performance.now();
    turns.run(() => serve(req, res, url, plain, started));
    return true;
  };
}
