// Issue 14 items 11 and 14 over real sockets: nosniff on every answer, assets sandboxed by CSP; token path segments
// never reach a log line; a deeply nested phone-home body is a 400 (it was a 500: Maximum call stack size exceeded).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { buildHttpApp } from '../../src/http/app.js';
import { redactUrl } from '../../src/http/limits.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { hostSpec, rig, tokenOf } from '../boot/fixtures.js';
import { ADMIN_TOKEN, LIVE_TOKEN, makeDeps } from './fakes.js';

const lines: string[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-hardening-'));
fs.writeFileSync(path.join(dir, 'page.html'), '<script>alert(1)</script>');
const deps = makeDeps({ assetRoots: [dir], logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
const app = buildHttpApp(deps);
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
after(async () => {
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

void test('every answer carries nosniff; assets are sandboxed', async () => {
  const urls = ['/healthz', '/', '/ui/app.js', '/boot.ipxe', '/ipxe/52:54:00:00:00:01', '/ipxe/52:54:00:00:00:01?a=%ZZ', '/nope', '/api/v1/machines', `/nocloud/${LIVE_TOKEN}/user-data`, '/assets/page.html', '/assets/missing'];
  for (const u of urls) {
    const res = await fetch(base + u);
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', u);
  }
  const res = await fetch(`${base}/assets/page.html`);
  await res.arrayBuffer();
  assert.equal(res.headers.get('content-security-policy'), 'sandbox');
  const head = await fetch(`${base}/assets/page.html`, { method: 'HEAD' });
  assert.equal(head.headers.get('content-security-policy'), 'sandbox');
});

void test('token path segments are redacted in every log line (5xx included)', async () => {
  lines.length = 0;
  const res = await fetch(`${base}/nocloud/${LIVE_TOKEN}/crash`);
  assert.equal(res.status, 500);
  await res.arrayBuffer();
  await (await fetch(`${base}/api/v1/boot/${LIVE_TOKEN}/events`, { method: 'POST', body: 'not json' })).arrayBuffer();
  await (await fetch(`${base}/nixos/${LIVE_TOKEN}/configuration.nix`)).arrayBuffer();
  assert.ok(lines.some((l) => l.includes('request failed')), 'the 5xx was logged');
  for (const l of lines) assert.ok(!l.includes(LIVE_TOKEN), `token in: ${l}`);
  assert.equal(redactUrl(`/api/v1/boot/${LIVE_TOKEN}/events`), '/api/v1/boot/<token>/events');
  assert.equal(redactUrl(`/nixos/${LIVE_TOKEN}/x?y=1`), '/nixos/<token>/x?y=1');
  assert.equal(redactUrl('/ipxe/52:54:00:00:00:01'), '/ipxe/52:54:00:00:00:01');
});

void test('a deeply nested phone-home body is a 400 over the real policy', async () => {
  const MAC = '52:54:00:14:00:01';
  const r = rig({}, [hostSpec('ubu1', 'ubuntu', { mac: MAC })]);
  r.registry.machineCreate({ mac: MAC, host: 'ubu1', state: 'registered' });
  const real = buildHttpApp({ policy: r.policy, admin: r.admin, assetRoots: [], ipxeBinRoots: [], adminToken: ADMIN_TOKEN, logger: silentLogger, ready: () => true });
  try {
    const token = tokenOf((await real.inject({ url: `/ipxe/${MAC}?buildarch=x86_64&platform=efi` })).body);
    const deep = '{"status":"failed","detail":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}';
    const res = await real.inject({ method: 'POST', url: `/api/v1/boot/${token}/events`, payload: deep, headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error, 'HTTP_BAD_REQUEST');
  } finally {
    await real.close();
    r.close();
  }
});

void test('http.listen defaults to the provisioning address; binding wider is warned about', async () => {
  const { daemonConfigSchema } = await import('../../src/config/daemon.js');
  const { httpListenAddress } = await import('../../src/http/limits.js');
  const cfg = daemonConfigSchema.parse({ admin: { token_env: 'X' } });
  const warned: string[] = [];
  const warn = (m: string): number => warned.push(m);
  assert.equal(httpListenAddress(cfg.http.listen, '192.0.2.1', warn), '192.0.2.1');
  assert.deepEqual(warned, []);
  assert.equal(httpListenAddress('0.0.0.0', '192.0.2.1', warn), '0.0.0.0');
  assert.equal(warned.length, 1);
});

void test('/readyz reflects registry health', async () => {
  let problem: string | null = null;
  const h = buildHttpApp({ ...makeDeps(), health: () => problem });
  try {
    assert.equal((await h.inject({ url: '/readyz' })).statusCode, 200);
    problem = 'attempt to write a readonly database';
    const res = await h.inject({ url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { status: 'unhealthy', reason: 'registry: attempt to write a readonly database' });
  } finally {
    await h.close();
  }
});
