import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildHttpApp } from '../../src/http/app.js';
import { assetContentType, parseRange } from '../../src/http/assets.js';
import { confineAsset } from '../../src/http/confine.js';
import { makeDeps } from './fakes.js';

const run = promisify(execFile);
const SIZE = 64 * 1024 * 1024;
const SECRET = 'TOP-SECRET-do-not-serve';

let tmp = '';
let root = '';
let ipxeRoot = '';
let big: Buffer;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-http-assets-'));
  root = path.join(tmp, 'root');
  ipxeRoot = path.join(tmp, 'ipxe');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(root, 'ubuntu'), { recursive: true });
  fs.mkdirSync(ipxeRoot);
  fs.writeFileSync(path.join(tmp, 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(root, 'ok.txt'), 'fine\n');
  fs.writeFileSync(path.join(root, 'sub', 'inner.txt'), 'inner\n');
  fs.writeFileSync(path.join(root, 'ubuntu', 'vmlinuz'), 'kernel');
  fs.writeFileSync(path.join(root, 'ubuntu', 'initrd'), 'initrd');
  fs.writeFileSync(path.join(root, 'menu.ipxe'), '#!ipxe\n');
  fs.writeFileSync(path.join(root, 'empty.bin'), '');
  fs.writeFileSync(path.join(ipxeRoot, 'snponly.efi'), 'MZ-efi');
  fs.symlinkSync('../secret.txt', path.join(root, 'escape'));
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(root, 'sub', 'escape2'));
  fs.symlinkSync('..', path.join(root, 'outdir'));
  fs.symlinkSync('ok.txt', path.join(root, 'alias.txt'));
  fs.symlinkSync('../secret.txt', path.join(ipxeRoot, 'evil.efi'));
  big = crypto.randomBytes(SIZE);
  fs.writeFileSync(path.join(root, 'big.bin'), big);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const appFor = () => {
  const deps = makeDeps({ assetRoots: [root], ipxeBinRoots: [ipxeRoot] });
  return { deps, app: buildHttpApp(deps) };
};

void describe('parseRange', () => {
  const table: Array<[string | undefined, number, ReturnType<typeof parseRange>]> = [
    [undefined, 100, { kind: 'full' }],
    ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=90-', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-1000', 100, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=50-1000', 100, { kind: 'partial', start: 50, end: 99 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=100-200', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-0', 0, { kind: 'unsatisfiable' }],
    ['bytes=9-3', 100, { kind: 'full' }],
    ['bytes=0-1,5-6', 100, { kind: 'full' }],
    ['items=0-1', 100, { kind: 'full' }],
    ['bytes=-', 100, { kind: 'full' }],
    ['bytes=a-b', 100, { kind: 'full' }],
  ];
  for (const [h, size, want] of table) void test(`${String(h)} of ${size}`, () => assert.deepEqual(parseRange(h, size), want));
});

void test('content types', () => {
  assert.equal(assetContentType('/x/snponly.efi'), 'application/efi');
  assert.equal(assetContentType('/x/BOOTX64.EFI'), 'application/efi');
  assert.equal(assetContentType('/x/vmlinuz'), 'application/octet-stream');
  assert.equal(assetContentType('/x/initrd'), 'application/octet-stream');
  assert.equal(assetContentType('/x/initrd.img'), 'application/octet-stream');
  assert.equal(assetContentType('/x/undionly.kpxe'), 'application/octet-stream');
  assert.equal(assetContentType('/x/a.squashfs'), 'application/octet-stream');
  assert.match(assetContentType('/x/menu.ipxe'), /^text\/plain/);
});

void describe('64 MiB asset: HEAD, Range, ETag', () => {
  const { deps, app } = appFor();
  after(() => app.close());
  const url = '/assets/big.bin';

  void test('HEAD gives size, type, validators and no body', async () => {
    const res = await app.inject({ method: 'HEAD', url });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(SIZE));
    assert.equal(res.headers['accept-ranges'], 'bytes');
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.match(String(res.headers.etag), /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(res.headers['last-modified']);
    assert.equal(res.rawPayload.length, 0);
  });

  void test('GET whole file', async () => {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(SIZE));
    assert.ok(res.rawPayload.equals(big));
  });

  const ranges: Array<[string, number, number]> = [
    ['bytes=1000-1999', 1000, 1999],
    ['bytes=-500', SIZE - 500, SIZE - 1],
    [`bytes=${SIZE - 864}-`, SIZE - 864, SIZE - 1],
    ['bytes=0-0', 0, 0],
    [`bytes=${SIZE - 1}-${SIZE + 5000}`, SIZE - 1, SIZE - 1],
  ];
  for (const [h, start, end] of ranges) {
    void test(`Range ${h} → 206 with the right bytes`, async () => {
      const res = await app.inject({ url, headers: { range: h } });
      assert.equal(res.statusCode, 206);
      assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${SIZE}`);
      assert.equal(res.headers['content-length'], String(end - start + 1));
      assert.ok(res.rawPayload.equals(big.subarray(start, end + 1)));
    });
  }

  void test('HEAD with Range → 206 headers, no body', async () => {
    const res = await app.inject({ method: 'HEAD', url, headers: { range: 'bytes=1000-1999' } });
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers['content-length'], '1000');
    assert.equal(res.rawPayload.length, 0);
  });

  for (const h of [`bytes=${SIZE}-`, `bytes=${SIZE + 1}-${SIZE + 10}`, 'bytes=-0']) {
    void test(`Range ${h} → 416`, async () => {
      const res = await app.inject({ url, headers: { range: h } });
      assert.equal(res.statusCode, 416);
      assert.equal(res.headers['content-range'], `bytes */${SIZE}`);
      assert.equal(res.json().error, 'HTTP_RANGE_NOT_SATISFIABLE');
    });
  }

  void test('conditional requests', async () => {
    const head = await app.inject({ method: 'HEAD', url });
    const etag = String(head.headers.etag);
    const lm = String(head.headers['last-modified']);
    let res = await app.inject({ url, headers: { 'if-none-match': etag } });
    assert.equal(res.statusCode, 304);
    assert.equal(res.rawPayload.length, 0);
    res = await app.inject({ url, headers: { 'if-none-match': `"other", W/${etag}` } });
    assert.equal(res.statusCode, 304);
    res = await app.inject({ method: 'HEAD', url, headers: { 'if-none-match': '"other"' } });
    assert.equal(res.statusCode, 200);
    res = await app.inject({ url, headers: { 'if-modified-since': lm } });
    assert.equal(res.statusCode, 304);
    res = await app.inject({ method: 'HEAD', url, headers: { 'if-modified-since': new Date(Date.parse(lm) - 10_000).toUTCString() } });
    assert.equal(res.statusCode, 200);
    // If-Range: the range applies only while the validator matches.
    res = await app.inject({ url, headers: { range: 'bytes=0-9', 'if-range': etag } });
    assert.equal(res.statusCode, 206);
    res = await app.inject({ method: 'HEAD', url, headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(SIZE));
  });

  void test('every response was reported to policy.assetServed', () => {
    const got = deps.policy.assets.filter((a) => a.path === 'big.bin');
    assert.ok(got.length >= 15);
    assert.ok(got.some((a) => a.status === 200 && a.bytes === SIZE));
    assert.ok(got.some((a) => a.status === 206 && a.bytes === 1000));
    assert.ok(got.some((a) => a.status === 416 && a.bytes === 0));
  });
});

void describe('asset roots', () => {
  const { deps, app } = appFor();
  after(() => app.close());

  void test('types and roots', async () => {
    let res = await app.inject({ url: '/assets/ipxe/snponly.efi' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/efi');
    assert.equal(res.body, 'MZ-efi');
    res = await app.inject({ method: 'HEAD', url: '/assets/ipxe/snponly.efi' });
    assert.equal(res.headers['content-length'], '6');
    res = await app.inject({ url: '/assets/ubuntu/vmlinuz' });
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    res = await app.inject({ url: '/assets/menu.ipxe' });
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    res = await app.inject({ url: '/assets/alias.txt' });
    assert.equal(res.statusCode, 200, 'a symlink inside the root is fine');
    res = await app.inject({ url: '/assets/sub/inner.txt?x=../../y' });
    assert.equal(res.body, 'inner\n');
    res = await app.inject({ url: '/assets/empty.bin' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], '0');
    res = await app.inject({ url: '/assets/sub' });
    assert.equal(res.statusCode, 404, 'directories are not served');
    res = await app.inject({ url: '/assets/ubuntu/missing' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 'HTTP_NOT_FOUND');
    assert.ok(deps.policy.assets.some((a) => a.path === 'ipxe/snponly.efi' && a.status === 200 && a.bytes === 6));
  });
});

/** ≥ 50 hostile names; the secret file lies next to the root. */
function traversalCorpus(): string[] {
  const tmpName = path.basename(tmp);
  return [
    '../secret.txt', '..%2fsecret.txt', '..%2Fsecret.txt', '%2e%2e/secret.txt', '%2e%2e%2fsecret.txt', '%2E%2E%2Fsecret.txt',
    '.%2e/secret.txt', '%2e./secret.txt', 'sub/../../secret.txt', 'sub/%2e%2e/%2e%2e/secret.txt', 'sub%2f..%2f..%2fsecret.txt',
    '..\\secret.txt', '..%5csecret.txt', '..%5Csecret.txt', '%5c..%5csecret.txt', 'sub\\..\\..\\secret.txt', '%2e%2e%5csecret.txt',
    '%00', 'ok.txt%00', 'ok.txt%00.efi', '..%00/secret.txt', '%00../secret.txt',
    '/etc/passwd', '%2fetc%2fpasswd', '%2Fetc%2Fpasswd', '//etc/passwd', `%2f${tmp.slice(1).replace(/\//g, '%2f')}%2fsecret.txt`,
    'C:\\secret.txt', 'C:%5csecret.txt', 'c:/secret.txt',
    'escape', 'sub/escape2', 'outdir/secret.txt', 'outdir', 'ipxe/evil.efi', 'ipxe/../../secret.txt', 'ipxe/..%2f..%2fsecret.txt',
    'ipxe/%2e%2e/%2e%2e/secret.txt', `../${tmpName}/secret.txt`, `..%2f${tmpName}%2fsecret.txt`,
    '%252e%252e/secret.txt', '%252e%252e%252fsecret.txt', '..%252fsecret.txt', '.../secret.txt', '....//secret.txt',
    './../secret.txt', '.%2f..%2fsecret.txt', '%c0%ae%c0%ae/secret.txt', '%c0%af', '%e0%80%ae%e0%80%ae/secret.txt',
    '..%c0%afsecret.txt', '%uff0e%uff0e/secret.txt', '%', '%zz', '%2', 'sub/..', 'sub/.', '.', '..', '', 'sub//../../secret.txt',
    'ok.txt/../../secret.txt', 'ok.txt/..%2f..%2fsecret.txt', '..;/secret.txt', '..%3b/secret.txt', '%e2%80%a5/secret.txt',
    '%ef%bc%8e%ef%bc%8e/secret.txt', 'secret.txt', 'sub/%2e%2e%2f%2e%2e%2fsecret.txt', '%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  ];
}

void describe('traversal corpus on /assets', () => {
  const { deps, app } = appFor();
  let port = 0;
  before(async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  after(() => app.close());

  /** A raw request over a real socket: inject() would normalise `..` and backslashes away before the app sees them. */
  const raw = (method: string, p: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path: p, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error(`timeout ${p}`)));
      req.on('error', reject);
      req.end();
    });

  void test('no name escapes the root (400 or 404, never the secret)', async () => {
    const corpus = traversalCorpus();
    assert.ok(corpus.length >= 50, `corpus has ${corpus.length}`);
    let refusedByConfine = 0;
    for (const name of corpus) {
      for (const method of ['GET', 'HEAD']) {
        const res = await raw(method, `/assets/${name}`);
        assert.ok([400, 404].includes(res.status), `${method} ${name}: ${res.status}`);
        assert.ok(!res.body.includes(SECRET), `${method} ${name} leaked`);
        assert.ok(!res.body.includes('root:'), `${method} ${name} leaked /etc/passwd`);
        if (res.body.includes('HTTP_BAD_PATH')) refusedByConfine++;
      }
    }
    assert.ok(refusedByConfine > 40, `confineAsset itself refused ${refusedByConfine} (the requests reached it)`);
    assert.deepEqual(deps.policy.assets, [], 'nothing was served');
    const ok = await raw('GET', '/assets/sub/inner.txt');
    assert.equal(ok.status, 200, 'the raw client does reach real files');
  });

  void test('confineAsset directly', async () => {
    for (const name of traversalCorpus()) {
      const r = await confineAsset(root, name);
      assert.equal(r.ok, false, name);
    }
    const ok = await confineAsset(root, 'sub/inner.txt');
    assert.ok(ok.ok && ok.file === path.join(fs.realpathSync(root), 'sub', 'inner.txt'));
    const enc = await confineAsset(root, 'sub%2finner.txt');
    assert.ok(enc.ok, 'an encoded slash inside the root is just a path');
  });
});

void describe('real socket + curl', () => {
  const { deps, app } = appFor();
  let base = '';
  before(async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(() => app.close());

  void test('curl Range request and HEAD', async () => {
    const out = path.join(tmp, 'part.bin');
    const { stdout } = await run('curl', ['-sS', '--max-time', '20', '-r', '1000-1999', '-o', out, '-w', '%{http_code} %{size_download}', `${base}/assets/big.bin`]);
    assert.equal(stdout, '206 1000');
    assert.ok(fs.readFileSync(out).equals(big.subarray(1000, 2000)));
    const head = await run('curl', ['-sS', '--max-time', '10', '-I', `${base}/assets/ipxe/snponly.efi`]);
    assert.match(head.stdout, /^HTTP\/1\.1 200/);
    assert.match(head.stdout, /content-type: application\/efi/i);
    assert.match(head.stdout, /content-length: 6/i);
    const full = await run('curl', ['-sS', '--max-time', '30', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${base}/assets/big.bin`]);
    assert.equal(full.stdout, `200 ${SIZE}`);
  });

  void test('a client that goes away mid-transfer is reported as partial, and the server carries on', async () => {
    const port = Number(new URL(base).port);
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/assets/big.bin' }, (res) => {
        let got = 0;
        res.on('data', (d: Buffer) => {
          got += d.length;
          if (got > 4 * 1024 * 1024) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    });
    const deadline = Date.now() + 5000;
    let rec: { status: number; bytes: number } | undefined;
    while (!(rec = deps.policy.assets.find((a) => a.status === 499)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(rec, 'partial transfer reported');
    assert.ok(rec.bytes > 0 && rec.bytes < SIZE, `bytes ${rec.bytes}`);
    const again = await run('curl', ['-sS', '--max-time', '20', '-r', '-500', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${base}/assets/big.bin`]);
    assert.equal(again.stdout, '206 500');
  });

  void test('curl --path-as-is traversal stays inside', async () => {
    for (const name of ['../secret.txt', '%2e%2e/secret.txt', 'sub/../../secret.txt', '..%5csecret.txt', 'escape', 'ipxe/evil.efi']) {
      const { stdout } = await run('curl', ['-sS', '--max-time', '10', '--path-as-is', '-w', '\n%{http_code}', `${base}/assets/${name}`]);
      assert.ok(!stdout.includes(SECRET), name);
      assert.match(stdout, /\n(400|404)$/, name);
    }
  });
});
