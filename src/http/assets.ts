// Static assets (kernels, initrds, squashfs, iPXE binaries) with HEAD, Range, ETag and Last-Modified.
// Firmware facts (protocol.md §5, §10): EDK2 HTTP boot sends HEAD first to learn the size, needs
// `Content-Type: application/efi` (or a URL ending in .efi) and resumes with Range; iPXE is "orders of magnitude
// slower" without Content-Length. So every answer here carries Content-Length, and Range gets a real 206.

import fs from 'node:fs';
import path from 'node:path';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpBootPolicy } from './types.js';
import { confineAsset } from './confine.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.efi': 'application/efi',
  '.iso': 'application/vnd.efi-iso',
  '.ipxe': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.cfg': 'text/plain; charset=utf-8',
  '.sh': 'text/plain; charset=utf-8',
  '.yaml': 'text/yaml; charset=utf-8',
  '.yml': 'text/yaml; charset=utf-8',
  '.json': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

/** Content type by extension; kernels, initrds, squashfs, .kpxe/.pxe and anything unknown are octet-stream. */
export function assetContentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export type RangeResult =
  /** No usable Range header (absent, malformed or multi-range): serve the whole file with 200. */
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * Parses a single-range `Range: bytes=…` header (RFC 9110 §14.1.2) against a file of `size` bytes.
 * Malformed and multi-range headers are ignored (a server MAY ignore Range); `bytes=-N` is the last N bytes.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return { kind: 'full' };
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return { kind: 'full' };
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  if (end >= size) end = size - 1;
  return { kind: 'partial', start, end };
}

/** A strong validator from size and mtime (the file is served as-is, so equal size+mtime means equal bytes). */
export function etagFor(stat: fs.Stats): string {
  return `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

export interface AssetResolver {
  /** Roots to try, in order, for a request path (still encoded) below /assets/. */
  rootsFor(encodedPath: string): Array<{ root: string; rel: string }>;
}

/** /assets/ipxe/<x> is looked up in the iPXE binary roots first, then every path in the asset roots. */
export function assetResolver(assetRoots: readonly string[], ipxeBinRoots: readonly string[]): AssetResolver {
  return {
    rootsFor(encodedPath) {
      const out: Array<{ root: string; rel: string }> = [];
      if (encodedPath.startsWith('ipxe/')) for (const root of ipxeBinRoots) out.push({ root, rel: encodedPath.slice(5) });
      for (const root of assetRoots) out.push({ root, rel: encodedPath });
      return out;
    },
  };
}

/**
 * Copy buffers for file bodies. Node has no sendfile, so a body is read into a buffer and written to the socket;
 * reusing a few big buffers (returned only when the socket has taken the bytes: the write callback) keeps GC and
 * allocation out of the loop. That roughly doubles throughput over fs.createReadStream piping (bench/http).
 */
/**
 * 128 KiB: a download to a slow client pins its buffer until the socket drains it, so the chunk times the number of
 * concurrent downloads is the daemon's memory in a boot storm (200 machines: 512 KiB chunks put pxed at 223 MB RSS,
 * docs/benchmarks.md "Boot storm, 200 machines"); the pool keeps the same 4 MiB as 8 × 512 KiB did.
 */
const CHUNK = 128 * 1024;
/** Buffers in flight per transfer: one being read while up to two are being written. */
const IN_FLIGHT = 3;
const POOL_MAX = 32;
const pool: Buffer[] = [];
const takeBuffer = (): Buffer => pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const giveBuffer = (b: Buffer): void => {
  if (pool.length < POOL_MAX) pool.push(b);
};
/**
 * Bounded buffering: a transfer always may hold one buffer; its second and third come from a budget shared by every
 * transfer. A client that stops reading therefore pins at most one CHUNK (plus what it got from the budget) until
 * the idle timeout ends it, and many such clients cannot pin more than connections x CHUNK + EXTRA_BUDGET.
 */
const EXTRA_BUDGET = 16;
let extraInUse = 0;
/**
 * Writes bytes [start, end] of `file` to `res` (headers already sent), then ends it. Calls `done(bytes, complete)`
 * once: complete = every byte was handed to the socket; otherwise the client went away or the read failed.
 */
export function sendFileRange(
  res: ServerResponse,
  file: string,
  start: number,
  end: number,
  done: (bytes: number, complete: boolean) => void,
  stallMs = 20_000,
): void {
  let pos = start;
  let written = 0;
  let inFlight = 0;
  let reading = false;
  let finished = false;
  let fd: number | null = null;
  const total = end - start + 1;

  // No byte taken by the client for stallMs: the download ends (socket idle timeouts do not see a full send queue).
  let seen = -1;
  const watchdog = setInterval(() => {
    if (written === seen) finish(false);
    seen = written;
  }, stallMs);
  watchdog.unref();
  const finish = (complete: boolean): void => {
    if (finished) return;
    finished = true;
    clearInterval(watchdog);
    if (fd !== null) fs.close(fd, () => undefined);
    fd = null;
    if (complete) res.end();
    else res.destroy();
    done(written, complete);
  };
  const pump = (): void => {
    if (finished || reading || fd === null) return;
    if (pos > end) {
      if (inFlight === 0) finish(true);
      return;
    }
    if (inFlight >= IN_FLIGHT) return;
    const extra = inFlight > 0;
    if (extra) {
      if (extraInUse >= EXTRA_BUDGET) return;
      extraInUse++;
    }
    const buf = takeBuffer();
    const len = Math.min(CHUNK, end - pos + 1);
    reading = true;
    const release = (): void => {
      if (extra) extraInUse--;
      giveBuffer(buf);
    };
    fs.read(fd, buf, 0, len, pos, (err, n) => {
      reading = false;
      if (finished || err || n === 0) {
        release();
        return finished ? undefined : finish(false);
      }
      pos += n;
      inFlight++;
      res.write(n === buf.length ? buf : buf.subarray(0, n), (werr) => {
        inFlight--;
        release();
        if (werr) return finish(false);
        written += n;
        pump();
      });
      pump();
    });
  };
  res.once('close', () => {
    if (!finished && written < total) finish(false);
  });
  fs.open(file, 'r', (err, handle) => {
    if (err) return finish(false);
    if (finished) return fs.close(handle, () => undefined);
    fd = handle;
    pump();
  });
}

/** GET/HEAD /assets/*: resolves through confineAsset, answers 200/206/304/416 and reports to policy.assetServed. */
export async function serveAsset(
  req: FastifyRequest,
  reply: FastifyReply,
  resolver: AssetResolver,
  policy: HttpBootPolicy,
  clientAddress: string,
  stallMs?: number,
): Promise<FastifyReply> {
  // The raw URL, not fastify's decoded wildcard: confineAsset decodes exactly once itself.
  const raw = req.url;
  const q = raw.indexOf('?');
  const encoded = (q === -1 ? raw : raw.slice(0, q)).slice('/assets/'.length);

  let found: Awaited<ReturnType<typeof confineAsset>> | null = null;
  for (const { root, rel } of resolver.rootsFor(encoded)) {
    const r = await confineAsset(root, rel);
    if (r.ok || r.status === 400) {
      found = r;
      break;
    }
    found ??= r;
  }
  if (found === null || !found.ok) {
    const status = found?.status ?? 404;
    return reply
      .code(status)
      .send({ error: status === 400 ? 'HTTP_BAD_PATH' : 'HTTP_NOT_FOUND', message: status === 400 ? 'bad asset path' : 'no such asset' });
  }

  const { file, stat } = found;
  const relPath = decodeURIComponent(encoded);
  const size = stat.size;
  const etag = etagFor(stat);
  const lastModified = stat.mtime.toUTCString();
  const isHead = req.method === 'HEAD';
  const report = (status: number, bytes: number): void => policy.assetServed(clientAddress, relPath, bytes, status);

  reply.header('accept-ranges', 'bytes');
  reply.header('etag', etag);
  reply.header('last-modified', lastModified);
  reply.header('content-type', assetContentType(file));
  reply.header('cache-control', 'no-cache');
  // Assets share the admin page's origin: an .html or .svg in an asset root must not run script there.
  reply.header('content-security-policy', 'sandbox');

  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  const notModified =
    inm !== undefined ? etagMatches(inm, etag) : ims !== undefined && Date.parse(ims) >= Math.floor(stat.mtimeMs / 1000) * 1000;
  if (notModified) {
    report(304, 0);
    return reply.code(304).send();
  }

  // If-Range: a Range applies only while the client's validator still matches.
  const ifRange = req.headers['if-range'];
  const ifRangeOk = typeof ifRange !== 'string' || ifRange.trim() === etag || ifRange.trim() === lastModified;
  const rangeHeader = ifRangeOk ? req.headers.range : undefined;
  const range = parseRange(rangeHeader, size);

  if (range.kind === 'unsatisfiable') {
    report(416, 0);
    reply.header('content-range', `bytes */${size}`).header('content-type', 'application/json; charset=utf-8');
    return reply.code(416).send({ error: 'HTTP_RANGE_NOT_SATISFIABLE', message: `range outside 0-${size - 1}` });
  }
  const start = range.kind === 'partial' ? range.start : 0;
  const end = range.kind === 'partial' ? range.end : size - 1;
  const length = size === 0 ? 0 : end - start + 1;
  const status = range.kind === 'partial' ? 206 : 200;
  if (range.kind === 'partial') reply.header('content-range', `bytes ${start}-${end}/${size}`);
  reply.header('content-length', length);
  reply.code(status);

  if (isHead || length === 0) {
    report(status, 0);
    return reply.send();
  }

  // The body bypasses fastify's stream piping (see sendFileRange); fastify still runs onResponse on 'finish'.
  reply.hijack();
  reply.raw.writeHead(status, reply.getHeaders() as OutgoingHttpHeaders);
  sendFileRange(reply.raw, file, start, end, (bytes, complete) => report(complete ? status : 499, bytes), stallMs);
  return reply;
}
