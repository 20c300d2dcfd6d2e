// One HTTP(S) download into a `.part` file, resumed with Range (RFC 9110 §14) when the file already holds a prefix.
// The server is not trusted: redirects are counted and loops refused, sizes are bounded before and while bytes
// arrive, a body longer than announced is refused, a silent connection times out. An interrupted transfer keeps
// its `.part` (the next run resumes); bytes that cannot be trusted (more than announced, a Content-Range that does
// not continue the prefix) are discarded. Checksums and the rename into place are the caller's (fetch.ts).

import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { PxedError } from '../errors.js';

export interface DownloadProgress {
  /** Bytes in the `.part` file now (resumed prefix included). */
  bytes: number;
  /** Expected final size, when the server said. */
  total: number | null;
  /** Bytes this run received (rate = received / elapsed). */
  received: number;
  elapsedMs: number;
}

export interface DownloadOptions {
  url: string;
  partFile: string;
  /** Refused when announced or reached. */
  maxBytes: number;
  /** No response or no body byte for this long → ASSET_DOWNLOAD (the `.part` stays). Default 30 s. */
  idleTimeoutMs?: number;
  /** Default 5. */
  maxRedirects?: number;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Minimum interval between onProgress calls (the last call is always made). Default 200 ms. */
  progressIntervalMs?: number;
}

export interface DownloadResult {
  /** The URL that answered (after redirects). */
  url: string;
  bytes: number;
  /** Bytes already in the `.part` file that the server continued (0 = from scratch). */
  resumedFrom: number;
}

const fail = (message: string, details: Record<string, unknown> = {}): PxedError => new PxedError('ASSET_DOWNLOAD', message, details);

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** GET `url` (Range from `offset` when > 0); resolves with the response headers, the body still unread. */
function get(url: URL, offset: number, idleTimeoutMs: number, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { 'user-agent': 'pxed-assets', 'accept-encoding': 'identity' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { headers, timeout: idleTimeoutMs, ...(signal ? { signal } : {}) }, resolve);
    req.on('timeout', () => req.destroy(fail(`${url.href}: no answer for ${idleTimeoutMs} ms`, { url: url.href })));
    req.on('error', (err) => reject(isAbort(err) ? err : err instanceof PxedError ? err : fail(`${url.href}: ${err.message}`, { url: url.href })));
  });
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** `bytes a-b/N` (N may be `*`) of a 206, or null when malformed. */
export function parseContentRange(header: string | undefined): { start: number; end: number; total: number | null } | null {
  const m = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/.exec(header?.trim() ?? '');
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (end < start || (total !== null && end >= total)) return null;
  return { start, end, total };
}

function contentLength(res: http.IncomingMessage): number | null {
  const v = res.headers['content-length'];
  return v !== undefined && /^\d{1,16}$/.test(v) ? Number(v) : null;
}

/** Follows redirects to the response that carries the body. */
async function respond(start: URL, offset: number, opts: DownloadOptions): Promise<{ res: http.IncomingMessage; url: URL }> {
  const idle = opts.idleTimeoutMs ?? 30_000;
  const maxRedirects = opts.maxRedirects ?? 5;
  const seen = new Set<string>();
  let url = start;
  for (;;) {
    seen.add(url.href);
    const res = await get(url, offset, idle, opts.signal);
    const status = res.statusCode ?? 0;
    if (status < 300 || status >= 400 || status === 304) return { res, url };
    res.resume();
    const location = res.headers.location;
    if (location === undefined) throw fail(`${url.href}: HTTP ${status} without Location`, { url: url.href, status });
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw fail(`${url.href}: HTTP ${status} to an unreadable Location`, { url: url.href, status });
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw fail(`${url.href}: redirect to ${next.protocol} refused`, { url: url.href });
    if (seen.has(next.href)) throw fail(`${start.href}: redirect loop at ${next.href}`, { url: start.href });
    if (seen.size > maxRedirects) throw fail(`${start.href}: more than ${maxRedirects} redirects`, { url: start.href });
    url = next;
  }
}

/**
 * Downloads `url` into `partFile`, continuing the bytes already there when the server honours Range. Throws
 * ASSET_DOWNLOAD with a message naming the URL; after an interruption the `.part` keeps what arrived.
 */
export async function download(opts: DownloadOptions): Promise<DownloadResult> {
  if ((await sizeOf(opts.partFile)) > opts.maxBytes) await unlink(opts.partFile);
  // Opened before the request: the body is read as soon as the answer is there (a connection that closes early
  // would otherwise take the bytes already received with it). Append mode: writes go to the end.
  const fh = await open(opts.partFile, 'a', 0o644);
  const state = { discard: false };
  try {
    return await transfer(fh, (await fh.stat()).size, opts, state);
  } finally {
    await fh.close().catch(() => undefined);
    // Bytes that cannot be trusted, or an empty file: nothing to resume from.
    if (state.discard || (await sizeOf(opts.partFile)) === 0) await unlink(opts.partFile).catch(() => undefined);
  }
}

async function transfer(fh: FileHandle, offset: number, opts: DownloadOptions, state: { discard: boolean }): Promise<DownloadResult> {
  let { res, url } = await respond(new URL(opts.url), offset, opts);
  let status = res.statusCode ?? 0;
  if (status === 416 && offset > 0) {
    res.resume();
    const cr = /^bytes \*\/(\d{1,16})$/.exec(res.headers['content-range']?.trim() ?? '');
    // The prefix already is the whole file: nothing left to send. Otherwise the prefix is not this file's.
    if (cr && Number(cr[1]) === offset) return { url: url.href, bytes: offset, resumedFrom: offset };
    await fh.truncate(0);
    offset = 0;
    ({ res, url } = await respond(url, 0, opts));
    status = res.statusCode ?? 0;
  }
  const where = { url: url.href };
  if (status !== 200 && status !== 206) {
    res.resume();
    throw fail(`${url.href}: HTTP ${status}`, { ...where, status });
  }
  let total: number | null;
  if (status === 206) {
    const cr = parseContentRange(res.headers['content-range']);
    const len = contentLength(res);
    if (offset === 0 || cr === null || cr.start !== offset || (len !== null && len !== cr.end - cr.start + 1)) {
      res.destroy();
      state.discard = true;
      throw fail(`${url.href}: 206 with a Content-Range that does not continue byte ${offset}; the partial file was discarded`, where);
    }
    total = cr.total ?? cr.end + 1;
  } else {
    total = contentLength(res);
  }
  if (total !== null && total > opts.maxBytes) {
    res.destroy();
    throw fail(`${url.href}: announces ${total} bytes, more than the ${opts.maxBytes} allowed for this asset`, where);
  }
  // 200 to a Range request: the server restarts from byte 0 (the body is read from here on, no bytes are lost).
  const restart = status === 200 && offset > 0;
  if (restart) offset = 0;
  const resumedFrom = offset;
  const limit = total ?? opts.maxBytes;
  const started = Date.now();
  const every = opts.progressIntervalMs ?? 200;
  let received = 0;
  let lastReport = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastReport < every)) return;
    lastReport = now;
    opts.onProgress({ bytes: offset + received, total, received, elapsedMs: now - started });
  };
  const idle = opts.idleTimeoutMs ?? 30_000;
  res.setTimeout(idle, () => res.destroy(fail(`${url.href}: no data for ${idle} ms after ${offset + received} bytes`, where)));
  // Each chunk is written (awaited) before the next is read, so after an interruption the .part holds exactly the
  // bytes received: the next run's Range starts where this one stopped.
  const iterator = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    if (restart) await fh.truncate(0);
    for (;;) {
      const { value: chunk, done } = await iterator.next();
      if (done === true) break;
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (offset + received + chunk.length > limit) {
        res.destroy();
        state.discard = true;
        throw fail(`${url.href}: sent more than the ${limit} bytes ${total !== null ? 'it announced' : 'allowed for this asset'}`, where);
      }
      await fh.write(chunk);
      received += chunk.length;
      report(false);
    }
  } catch (err) {
    if (err instanceof PxedError || isAbort(err)) throw err;
    throw fail(`${url.href}: interrupted after ${offset + received}${total !== null ? ` of ${total}` : ''} bytes (${(err as Error).message}); run again to resume`, where);
  }
  report(true);
  if (total !== null && offset + received !== total) {
    throw fail(`${url.href}: connection closed after ${offset + received} of ${total} bytes; run again to resume`, where);
  }
  return { url: url.href, bytes: offset + received, resumedFrom };
}

/** A small text document (SHA256SUMS) into memory, at most `maxBytes`. */
export async function downloadText(url: string, maxBytes: number, opts: Pick<DownloadOptions, 'idleTimeoutMs' | 'maxRedirects' | 'signal'> = {}): Promise<string> {
  const { res, url: final } = await respond(new URL(url), 0, { url, partFile: '', maxBytes, ...opts });
  if (res.statusCode !== 200) {
    res.resume();
    throw fail(`${final.href}: HTTP ${res.statusCode}`, { url: final.href, status: res.statusCode });
  }
  const len = contentLength(res);
  if (len !== null && len > maxBytes) {
    res.destroy();
    throw fail(`${final.href}: ${len} bytes, more than ${maxBytes}`, { url: final.href });
  }
  res.setTimeout(opts.idleTimeoutMs ?? 30_000, () => res.destroy(fail(`${final.href}: no data`, { url: final.href })));
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > maxBytes) {
        res.destroy();
        throw fail(`${final.href}: more than ${maxBytes} bytes`, { url: final.href });
      }
      chunks.push(c);
    }
  } catch (err) {
    if (err instanceof PxedError) throw err;
    throw fail(`${final.href}: ${(err as Error).message}`, { url: final.href });
  }
  return Buffer.concat(chunks).toString('utf8');
}
