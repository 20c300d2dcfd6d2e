// The GET /ipxe/:mac fast path (script-fastpath.ts) against the fastify route it stands in for: the URL subset it
// takes, and, over a real listening socket, the same status, headers and body as app.inject() (which always goes
// through fastify's router) for every variant, plus the requests it must leave to fastify.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { HttpDocument } from '../../src/boot/types.js';
import { buildHttpApp } from '../../src/http/app.js';
import { HttpMetrics } from '../../src/http/metrics.js';
import { parsePlainScriptUrl, scriptFastPath } from '../../src/http/script-fastpath.js';
import { silentLogger } from '../../src/log.js';
import { hostSpec, rig, type Rig } from '../boot/fixtures.js';
import { FakeAdmin, scriptOnlyPolicy, syncScriptPolicy } from './fakes.js';

void describe('parsePlainScriptUrl', () => {
  const cases: Array<[string, ReturnType<typeof parsePlainScriptUrl>]> = [
    ['/ipxe/52:54:00:aa:bb:cc', { mac: '52:54:00:aa:bb:cc', query: {} }],
    ['/ipxe/52-54-00-aa-bb-cc?', { mac: '52-54-00-aa-bb-cc', query: {} }],
    ['/ipxe/52-54-00-aa-bb-cc?arch=x86_64&platform=efi', { mac: '52-54-00-aa-bb-cc', query: { arch: 'x86_64', platform: 'efi' } }],
    // iPXE's :uristring escapes: decoded as fastify decodes them.
    ['/ipxe/5254.00aa.bbcc?product=Standard%20PC%20%28Q35%29&serial=', { mac: '5254.00aa.bbcc', query: { product: 'Standard PC (Q35)', serial: '' } }],
    ['/ipxe/x?a=1&a=2', { mac: 'x', query: { a: '1' } }], // the route takes the first of repeated keys
    ['/ipxe/x?constructor=1', { mac: 'x', query: { constructor: '1' } }],
    // Left to fastify:
    ['/ipxe/52%3A54%3A00%3Aaa%3Abb%3Acc', null], // escaped path segment
    ['/ipxe/x/', null],
    ['/ipxe/', null],
    ['/ipxe/x/y', null],
    ['/IPXE/x', null],
    ['/ipxe/x?a+b=1', null],
    ['/ipxe/x?a=b+c', null], // '+' means space to fastify's parser
    ['/ipxe/x?a=%E0%A4%A', null], // malformed escape
    ['/ipxe/x?flag', null], // key without '='
    ['/ipxe/x?a=1&&b=2', null],
    ['/ipxe/x?a=1&', null], // a trailing '&' is an empty pair
    ['/ipxe/x?&a=1', null],
    ['/ipxe/x?=1', null],
    ['/ipxe/x?a=1=2&b=?', { mac: 'x', query: { a: '1=2', b: '?' } }],
    [`/ipxe/x?${'k'.repeat(33)}=1`, null],
    ['/ipxe/x?__proto__=1', null],
    ['/ipxe/x?a%20b=1', null],
    [`/ipxe/${'a'.repeat(65)}`, null],
  ];
  for (const [url, want] of cases) {
    void it(url.length > 60 ? `${url.slice(0, 60)}…` : url, () => assert.deepEqual(parsePlainScriptUrl(url), want));
  }
});

/** What a client sees of an answer, minus the per-response Date/Connection headers. */
interface Seen {
  status: number;
  contentType: string | undefined;
  cacheControl: string | undefined;
  contentLength: string | undefined;
  body: string;
}

void describe('fast path vs the fastify route, over a listening socket', () => {
  const INSTALLED = '52:54:00:77:00:41';
  const DISCOVERED = '52:54:00:77:00:42';
  const FAILED = '52:54:00:77:00:43';
  let r: Rig;
  let app: FastifyInstance;
  let base: string;
  let throwing: FastifyInstance;
  let throwingBase: string;
  let throwingSync: FastifyInstance;
  let throwingSyncBase: string;

  before(async () => {
    r = rig({}, [hostSpec('lab1', 'custom', { mac: null })]);
    r.admin.create({ mac: INSTALLED, host: 'lab1' });
    r.registry.machineTransition(INSTALLED, 'booting', 'test');
    r.registry.machineTransition(INSTALLED, 'installed', 'test');
    r.registry.machineCreate({ mac: DISCOVERED, host: null });
    r.admin.create({ mac: FAILED, host: 'lab1' });
    r.registry.machineTransition(FAILED, 'booting', 'test');
    r.registry.machineTransition(FAILED, 'failed', 'test');
    app = buildHttpApp({ policy: r.policy, admin: r.admin, assetRoots: [], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const broken = scriptOnlyPolicy(() => {
      throw new Error('registry on fire');
    });
    throwing = buildHttpApp({ policy: broken, admin: new FakeAdmin(), assetRoots: [], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true });
    await throwing.listen({ host: '127.0.0.1', port: 0 });
    throwingBase = `http://127.0.0.1:${(throwing.server.address() as AddressInfo).port}`;
    const brokenSync = syncScriptPolicy(() => {
      throw new Error('registry on fire');
    });
    throwingSync = buildHttpApp({ policy: brokenSync, admin: new FakeAdmin(), assetRoots: [], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true });
    await throwingSync.listen({ host: '127.0.0.1', port: 0 });
    throwingSyncBase = `http://127.0.0.1:${(throwingSync.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    await throwing.close();
    await throwingSync.close();
    r.close();
  });

  const viaSocket = async (url: string, method = 'GET', at = base): Promise<Seen> => {
    const res = await fetch(`${at}${url}`, { method });
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? undefined,
      cacheControl: res.headers.get('cache-control') ?? undefined,
      contentLength: res.headers.get('content-length') ?? undefined,
      body: await res.text(),
    };
  };
  const viaInject = async (url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET', on = app): Promise<Seen> => {
    const res = await on.inject({ method, url });
    const h = (k: string): string | undefined => (res.headers[k] === undefined ? undefined : String(res.headers[k]));
    return { status: res.statusCode, contentType: h('content-type'), cacheControl: h('cache-control'), contentLength: h('content-length'), body: res.body };
  };

  const urls = [
    `/ipxe/${INSTALLED}?buildarch=x86_64&platform=efi`, // local boot (exit)
    `/ipxe/${INSTALLED.replace(/:/g, '-')}?platform=pcbios`, // local boot (sanboot), hexhyp spelling
    `/ipxe/${INSTALLED}?product=Standard%20PC%20%28Q35%29`,
    `/ipxe/${DISCOVERED}`,
    `/ipxe/${FAILED}?platform=efi`,
    '/ipxe/52:54:00:77:00:99', // unknown
    '/ipxe/not-a-mac',
    // Not plain: these reach fastify on both sides.
    `/ipxe/${INSTALLED.replace(/:/g, '%3A')}?platform=efi`,
    `/ipxe/${INSTALLED}?platform=e+fi`,
    `/ipxe/${INSTALLED}/`,
    '/ipxe/x?a=%E0%A4%A',
  ];
  for (const url of urls) {
    void it(`GET ${url}`, async () => {
      const socket = await viaSocket(url);
      const routed = await viaInject(url);
      assert.deepEqual(socket, routed);
      assert.notEqual(socket.status, 0);
    });
  }

  void it('answers only GET: HEAD and POST get what fastify gives them', async () => {
    for (const method of ['HEAD', 'POST'] as const) {
      const url = `/ipxe/${INSTALLED}`;
      const socket = await viaSocket(url, method);
      const routed = await viaInject(url, method);
      assert.equal(socket.status, routed.status, method);
      assert.equal(socket.status, 404, method);
    }
  });

  void it('a failing policy gives the error handler’s 500 answer on both paths (rejecting and throwing forms)', async () => {
    const url = `/ipxe/${INSTALLED}`;
    for (const [at, on] of [
      [throwingBase, throwing],
      [throwingSyncBase, throwingSync],
    ] as const) {
      const socket = await viaSocket(url, 'GET', at);
      const routed = await viaInject(url, 'GET', on);
      assert.deepEqual(socket, routed);
      assert.equal(socket.status, 500);
      assert.deepEqual(JSON.parse(socket.body), { error: 'HTTP_INTERNAL', message: 'internal error' });
    }
    // The server goes on answering after a throw.
    assert.equal((await viaSocket('/healthz', 'GET', throwingSyncBase)).status, 200);
  });

  void it('a document Node cannot send (bad header value, no document) gets a 500 on both forms; the server stays up', async () => {
    const badHeader = { contentType: 'text/plain\r\nx-injected: 1', body: '#!ipxe\n' };
    const none = null as unknown as HttpDocument; // a policy bug the types would catch, but not at run time
    for (const doc of [badHeader, none]) {
      for (const policy of [scriptOnlyPolicy(() => doc)]) {
        const badApp = buildHttpApp({ policy, admin: new FakeAdmin(), assetRoots: [], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true });
        await badApp.listen({ host: '127.0.0.1', port: 0 });
        try {
          const at = `http://127.0.0.1:${(badApp.server.address() as AddressInfo).port}`;
          const seen = await viaSocket(`/ipxe/${INSTALLED}`, 'GET', at);
          assert.equal(seen.status, 500);
          assert.equal(seen.contentType, 'application/json; charset=utf-8');
          assert.equal((await viaSocket('/healthz', 'GET', at)).status, 200);
        } finally {
          await badApp.close();
        }
      }
    }
  });

  void it('counts fast-path requests in /metrics under the route pattern', async () => {
    const before = await (await fetch(`${base}/metrics`)).text();
    const count = (text: string): number => Number(/pxed_http_requests_total\{route="\/ipxe\/:mac",method="GET",status="200"\} (\d+)/.exec(text)?.[1] ?? 0);
    for (let i = 0; i < 3; i++) await viaSocket(`/ipxe/${INSTALLED}?platform=efi`);
    assert.equal(count(await (await fetch(`${base}/metrics`)).text()), count(before) + 3);
  });

  void it('records the script fetch on the machine’s timeline', async () => {
    r.clock.advanceMinutes(1); // past the repeat window
    const n = r.registry.eventList(INSTALLED).length;
    await viaSocket(`/ipxe/${INSTALLED}?platform=efi`);
    const events = r.registry.eventList(INSTALLED);
    assert.equal(events.length, n + 1);
    assert.equal(events.at(-1)?.kind, 'ipxe-script');
    assert.equal((events.at(-1)?.detail as { client?: string }).client, '127.0.0.1');
  });
});

void describe('scriptFastPath takes plain GETs and leaves the rest', () => {
  void it('answers on its own only what parsePlainScriptUrl accepts, and nothing while closing', async () => {
    let closing = false;
    const seen: string[] = [];
    const policy = scriptOnlyPolicy((req) => {
      seen.push(req.mac);
      return { contentType: 'text/plain; charset=utf-8', body: `#!ipxe\necho ${req.mac}\n` };
    });
    const fast = scriptFastPath({ policy, metrics: new HttpMetrics(), log: silentLogger, closing: () => closing, answerError: () => ({ status: 500, body: {} }) });
    const server = http.createServer((req, res) => {
      if (!fast(req, res)) {
        res.writeHead(599);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const plain = await fetch(`${base}/ipxe/52-54-00-aa-bb-cc?arch=x86_64`);
      assert.equal(plain.status, 200);
      assert.equal(await plain.text(), '#!ipxe\necho 52-54-00-aa-bb-cc\n');
      assert.equal(plain.headers.get('content-length'), '30');
      assert.equal(plain.headers.get('cache-control'), 'no-store');
      for (const [method, url] of [['GET', '/ipxe/52%3A54'], ['HEAD', '/ipxe/x'], ['POST', '/ipxe/x'], ['GET', '/boot.ipxe']] as const) {
        assert.equal((await fetch(`${base}${url}`, { method })).status, 599, `${method} ${url}`);
      }
      closing = true;
      assert.equal((await fetch(`${base}/ipxe/x`)).status, 599, 'closing: left to fastify (503)');
      assert.deepEqual(seen, ['52-54-00-aa-bb-cc']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
