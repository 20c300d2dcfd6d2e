// The downloader against a real HTTP server on 127.0.0.1 that behaves, is interrupted, or lies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { download, downloadText, parseContentRange } from '../../src/assets/download.js';
import { isPxedError } from '../../src/errors.js';
import { startServer, type TestServer } from './server.js';

const BODY = randomBytes(300_000);
let srv: TestServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pxed-dl-'));
  srv = await startServer({
    '/file': { kind: 'file', body: BODY },
    '/cut': { kind: 'interrupt', body: BODY, after: 100_000, times: 1 },
    '/short': { kind: 'lie', body: BODY.subarray(0, 1000), announce: 5000 },
    '/chunked': { kind: 'chunked', body: BODY },
    '/norange': { kind: 'no-range', body: BODY },
    '/badrange': { kind: 'bad-range', body: BODY },
    '/loop-a': { kind: 'redirect', to: '/loop-b' },
    '/loop-b': { kind: 'redirect', to: '/loop-a' },
    '/hop1': { kind: 'redirect', to: '/hop2' },
    '/hop2': { kind: 'redirect', to: '/file' },
    '/tofile': { kind: 'redirect', to: 'file:///etc/passwd' },
    '/stall': { kind: 'stall' },
    '/sums': { kind: 'file', body: Buffer.from('x'.repeat(5000)) },
  });
});
after(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

const part = (name: string): string => path.join(dir, `${name}.part`);
const dl = (p: string, file: string, extra: Partial<Parameters<typeof download>[0]> = {}) =>
  download({ url: srv.url(p), partFile: file, maxBytes: 1_000_000, idleTimeoutMs: 2000, ...extra });
const isDownloadError = (re: RegExp) => (e: unknown) => isPxedError(e, 'ASSET_DOWNLOAD') && re.test(e.message);

void test('a whole file, with progress ending at the total; through two redirects', async () => {
  const seen: number[] = [];
  const r = await dl('/hop1', part('whole'), { onProgress: (p) => seen.push(p.bytes) });
  assert.equal(r.bytes, BODY.length);
  assert.equal(r.resumedFrom, 0);
  assert.equal(r.url, srv.url('/file'));
  assert.ok(readFileSync(part('whole')).equals(BODY));
  assert.equal(seen.at(-1), BODY.length);
});

void test('interrupted: the .part keeps what arrived; the next run resumes with Range and completes', async () => {
  const file = part('cut');
  await assert.rejects(dl('/cut', file), isDownloadError(/run again to resume/));
  // What reached the disk before the reset is a prefix of the body (under load it may be nothing: writes still
  // queued when the socket fails are dropped, never half-written).
  const kept = statSync(file).size;
  assert.ok(kept <= 100_000, `kept ${kept}`);
  assert.ok(readFileSync(file).equals(BODY.subarray(0, kept)));
  const r = await dl('/cut', file);
  assert.equal(r.resumedFrom, kept);
  assert.equal(srv.requests.filter((q) => q.path === '/cut').at(-1)!.range, kept > 0 ? `bytes=${kept}-` : undefined);
  assert.ok(readFileSync(file).equals(BODY));
  // A .part that already is the whole file: the server answers 416 with the size; nothing more is fetched.
  const again = await dl('/file', file);
  assert.deepEqual([again.bytes, again.resumedFrom], [BODY.length, BODY.length]);
});

void test('a server that ignores Range restarts the file from byte 0', async () => {
  const file = part('norange');
  writeFileSync(file, BODY.subarray(0, 777));
  const r = await dl('/norange', file);
  assert.equal(r.resumedFrom, 0);
  assert.ok(readFileSync(file).equals(BODY));
});

void test('hostile servers fail cleanly', async () => {
  // Announces more than it sends, then closes: an interruption (the prefix is kept for a resume).
  await assert.rejects(dl('/short', part('short')), isDownloadError(/closed after 1000 of 5000 bytes|interrupted after 1000/));
  // Announces more than the asset may be: refused before a byte is written.
  await assert.rejects(dl('/file', part('big'), { maxBytes: 1000 }), isDownloadError(/announces 300000 bytes, more than the 1000 allowed/));
  assert.equal(existsSync(part('big')), false);
  // No length, more bytes than allowed: cut off and discarded.
  await assert.rejects(dl('/chunked', part('chunked'), { maxBytes: 50_000 }), isDownloadError(/sent more than the 50000 bytes allowed/));
  assert.equal(existsSync(part('chunked')), false);
  // A 206 that does not continue the prefix: discarded.
  writeFileSync(part('badrange'), BODY.subarray(0, 10));
  await assert.rejects(dl('/badrange', part('badrange')), isDownloadError(/does not continue byte 10/));
  assert.equal(existsSync(part('badrange')), false);
  await assert.rejects(dl('/loop-a', part('loop')), isDownloadError(/redirect loop/));
  await assert.rejects(dl('/hop1', part('hops'), { maxRedirects: 1 }), isDownloadError(/more than 1 redirects/));
  await assert.rejects(dl('/tofile', part('tofile')), isDownloadError(/redirect to file: refused/));
  await assert.rejects(dl('/missing', part('missing')), isDownloadError(/HTTP 404/));
  await assert.rejects(dl('/stall', part('stall'), { idleTimeoutMs: 300 }), isDownloadError(/no (answer|data) for 300 ms|interrupted/));
  await assert.rejects(download({ url: 'http://127.0.0.1:1/x', partFile: part('refused'), maxBytes: 10 }), isDownloadError(/ECONNREFUSED/));
  await assert.rejects(downloadText(srv.url('/sums'), 1000), isDownloadError(/more than 1000/));
});

void test('Content-Range parsing', () => {
  assert.deepEqual(parseContentRange('bytes 10-19/20'), { start: 10, end: 19, total: 20 });
  assert.deepEqual(parseContentRange('bytes 0-9/*'), { start: 0, end: 9, total: null });
  for (const bad of [undefined, '', 'bytes 10-5/20', 'bytes 0-20/20', 'items 0-1/2', 'bytes 0-1/2, 3-4/5']) assert.equal(parseContentRange(bad), null, String(bad));
});
