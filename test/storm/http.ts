// The simulated machines' HTTP side: one request per connection from the machine's own address (as iPXE and an
// installer's fetches come from it), bodies hashed as they stream (SHA-256) and kept only when small. A failed
// request (connection refused or reset, timeout, 5xx) is retried after a short pause, up to `attempts` (counted).

import { createHash } from 'node:crypto';
import http from 'node:http';

export interface HttpResult {
  status: number;
  bytes: number;
  sha256: string;
  /** The body as text when it is at most 256 KiB (scripts, user-data); '' otherwise. */
  text: string;
  /** Requests made again after a failure. */
  retries: number;
}

export interface HttpOptions {
  localAddress: string;
  method?: 'GET' | 'POST';
  body?: string;
  timeoutMs: number;
  attempts: number;
  deadline: number;
}

const KEEP_TEXT = 256 * 1024;

function once(url: string, o: HttpOptions): Promise<Omit<HttpResult, 'retries'>> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'iPXE/1.21.1 (pxed storm)', connection: 'close' };
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(o.body));
    }
    const req = http.request(url, { method: o.method ?? 'GET', localAddress: o.localAddress, headers, agent: false }, (res) => {
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes <= KEEP_TEXT) kept.push(chunk);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 500) return reject(new Error(`HTTP ${status} for ${url}`));
        resolve({ status, bytes, sha256: hash.digest('hex'), text: bytes <= KEEP_TEXT ? Buffer.concat(kept).toString('utf8') : '' });
      });
      res.on('error', reject);
    });
    req.setTimeout(o.timeoutMs, () => req.destroy(new Error(`timeout after ${o.timeoutMs} ms: ${url}`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

export async function httpFetch(url: string, o: HttpOptions): Promise<HttpResult> {
  let last: unknown;
  for (let n = 0; n < o.attempts && Date.now() < o.deadline; n++) {
    try {
      return { ...(await once(url, o)), retries: n };
    } catch (err) {
      last = err;
      // Back-off 250 ms doubling to 2 s (plus jitter): ten attempts span a daemon restart.
      await new Promise((r) => setTimeout(r, Math.min(2000, 250 * 2 ** n) + Math.floor(Math.random() * 200)));
    }
  }
  if (last === undefined) throw new Error(`HTTP ${o.method ?? 'GET'} ${url} not attempted: the storm's deadline had passed`);
  throw new Error(`HTTP ${o.method ?? 'GET'} ${url} failed: ${String(last)}${Date.now() >= o.deadline ? ' (then the storm\'s deadline passed)' : ` (${o.attempts} attempts)`}`);
}
