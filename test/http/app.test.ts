import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PxedMetrics } from '../../src/appliance/metrics.js';
import { buildHttpApp } from '../../src/http/app.js';
import { HttpMetrics } from '../../src/http/metrics.js';
import { LIVE_TOKEN, auth, makeDeps } from './fakes.js';

void describe('boot scripts', () => {
  const deps = makeDeps();
  const app = buildHttpApp(deps);
  after(() => app.close());

  void test('GET /boot.ipxe', async () => {
    const res = await app.inject({ url: '/boot.ipxe' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /^#!ipxe\n# for 127\.0\.0\.1\n/);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const head = await app.inject({ method: 'HEAD', url: '/boot.ipxe' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.rawPayload.length, 0);
  });

  void test('GET /ipxe/:mac passes MAC, query and client address through', async () => {
    const res = await app.inject({ url: '/ipxe/52:54:00:12:34:56?buildarch=x86_64&platform=efi&uuid=abc&x=1&x=2' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /^#!ipxe\necho machine 52:54:00:12:34:56\n/);
    assert.ok(res.headers['content-length']);
    const req = deps.policy.scripts.at(-1)!;
    assert.equal(req.mac, '52:54:00:12:34:56');
    assert.equal(req.clientAddress, '127.0.0.1');
    assert.deepEqual({ ...req.query }, { buildarch: 'x86_64', platform: 'efi', uuid: 'abc', x: '1' });
    // The policy validates the MAC, not the HTTP layer: hostile input is passed along (and must be escaped there).
    await app.inject({ url: '/ipxe/%0Aexit' });
    assert.equal(deps.policy.scripts.at(-1)!.mac, '\nexit');
  });
});

void describe('token artifacts and phone-home', () => {
  const deps = makeDeps();
  const app = buildHttpApp(deps);
  after(() => app.close());

  void test('nocloud and nixos artifacts', async () => {
    for (const family of ['nocloud', 'nixos']) {
      const name = family === 'nocloud' ? 'user-data' : 'configuration.nix';
      let res = await app.inject({ url: `/${family}/${LIVE_TOKEN}/${name}` });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, `#cloud-config\n# ${family}\n`);
      assert.equal(res.headers['content-length'], String(res.body.length));
      assert.deepEqual(deps.policy.artifacts.at(-1), { family, token: LIVE_TOKEN, name, clientAddress: '127.0.0.1' });
      res = await app.inject({ url: `/${family}/dead-token/${name}` });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error, 'HTTP_NOT_FOUND');
      res = await app.inject({ url: `/${family}/${LIVE_TOKEN}/unknown` });
      assert.equal(res.statusCode, 404);
    }
  });

  void test('ARTIFACT_INVALID → 500 with a clear message; other failures → 500 without detail', async () => {
    let res = await app.inject({ url: `/nocloud/${LIVE_TOKEN}/broken` });
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().error, 'HTTP_ARTIFACT_INVALID');
    assert.match(res.json().message, /generated artifact failed validation: user-data: autoinstall\.version missing/);
    res = await app.inject({ url: `/nocloud/${LIVE_TOKEN}/crash` });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: 'HTTP_INTERNAL', message: 'internal error' });
  });

  const url = `/api/v1/boot/${LIVE_TOKEN}/events`;
  const subiquity = { name: 'subiquity/Install', description: 'final', origin: 'curtin', event_type: 'finish', result: 'SUCCESS', timestamp: 1700000000.1 };

  void test('phone-home: Subiquity JSON, script bodies with any content type, no bearer needed', async () => {
    let res = await app.inject({ method: 'POST', url, payload: subiquity });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { state: 'installed' });
    assert.deepEqual(deps.policy.phoneHomes.at(-1)!.body, subiquity);
    // curl -d sends application/x-www-form-urlencoded; a script may send text/plain or nothing.
    for (const ct of ['application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=utf-8', undefined]) {
      res = await app.inject({ method: 'POST', url, payload: '{"status":"installed","detail":"ok"}', headers: ct ? { 'content-type': ct } : {} });
      assert.equal(res.statusCode, 200, String(ct));
      assert.deepEqual(deps.policy.phoneHomes.at(-1)!.body, { status: 'installed', detail: 'ok' });
    }
  });

  void test('phone-home: a large event (installer logs attached) is accepted', async () => {
    const big = { ...subiquity, files: [{ path: '/var/log/curtin/install.log', encoding: 'base64', content: 'A'.repeat(700 * 1024) }] };
    const res = await app.inject({ method: 'POST', url, payload: big });
    assert.equal(res.statusCode, 200);
    const tooBig = { ...subiquity, files: [{ path: 'x', encoding: 'base64', content: 'A'.repeat(1100 * 1024) }] };
    assert.equal((await app.inject({ method: 'POST', url, payload: tooBig })).statusCode, 413);
  });

  void test('no HEAD on routes with side effects', async () => {
    const n = deps.policy.scripts.length + deps.policy.artifacts.length;
    for (const u of ['/ipxe/52:54:00:12:34:56', `/nocloud/${LIVE_TOKEN}/user-data`, `/nixos/${LIVE_TOKEN}/configuration.nix`]) {
      assert.equal((await app.inject({ method: 'HEAD', url: u })).statusCode, 404, u);
    }
    assert.equal(deps.policy.scripts.length + deps.policy.artifacts.length, n, 'the policy was not asked');
  });

  void test('phone-home: unknown token 404, non-JSON 400', async () => {
    let res = await app.inject({ method: 'POST', url: '/api/v1/boot/nope/events', payload: subiquity });
    assert.equal(res.statusCode, 404);
    for (const payload of ['status=installed', '{"status":', '']) {
      res = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
      assert.equal(res.statusCode, 400, payload);
      assert.equal(res.json().error, 'HTTP_BAD_REQUEST');
      assert.match(res.json().message, /^body: /);
    }
    res = await app.inject({ method: 'POST', url });
    assert.equal(res.statusCode, 400);
    res = await app.inject({ method: 'GET', url, headers: auth });
    assert.equal(res.statusCode, 404, 'phone-home is POST only');
  });
});

void describe('health, metrics, admin page', () => {
  let ready = false;
  // With the daemon's registry (process metrics included), as app.ts wires it.
  const deps = makeDeps({ ready: () => ready, metrics: new HttpMetrics(new PxedMetrics()) });
  const app = buildHttpApp(deps);
  after(() => app.close());

  void test('healthz and readyz', async () => {
    assert.deepEqual((await app.inject({ url: '/healthz' })).json(), { status: 'ok' });
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 503);
    ready = true;
    assert.deepEqual((await app.inject({ url: '/readyz' })).json(), { status: 'ready' });
  });

  void test('metrics', async () => {
    deps.admin.create({ mac: '52:54:00:00:00:01', host: 'a' });
    await app.inject({ url: '/boot.ipxe' });
    await app.inject({ url: '/ipxe/52:54:00:00:00:01' });
    await app.inject({ url: '/ipxe/52:54:00:00:00:02' });
    await app.inject({ url: '/nope' });
    const res = await app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^pxed_http_requests_total\{route="\/ipxe\/:mac",method="GET",status="200"\} 2$/m);
    assert.match(res.body, /^pxed_http_requests_total\{route="\/boot\.ipxe",method="GET",status="200"\} 1$/m);
    assert.match(res.body, /^pxed_http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
    assert.match(res.body, /^pxed_machines\{state="registered"\} 1$/m);
    assert.match(res.body, /^pxed_machines\{state="installed"\} 0$/m);
    assert.match(res.body, /^process_resident_memory_bytes \d+$/m);
  });

  void test('unknown routes: JSON 404; malformed URL: JSON 400', async () => {
    let res = await app.inject({ url: '/nope' });
    assert.deepEqual(res.json(), { error: 'HTTP_NOT_FOUND', message: 'no such route' });
    res = await app.inject({ url: '/ipxe/%zz' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'HTTP_BAD_REQUEST');
  });
});
