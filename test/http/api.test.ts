import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { API_PREFIX, bearerChecker } from '../../src/http/api.js';
import { apiRouteTable, buildHttpApp } from '../../src/http/app.js';
import { MachineSchema } from '../../src/http/schemas.js';
import { ADMIN_TOKEN, auth, makeDeps } from './fakes.js';

/** A concrete URL for a route pattern. */
const concrete = (url: string): string =>
  API_PREFIX + url.replace(':mac', '52:54:00:00:00:01').replace(':artifact', 'ipxe');

void describe('bearer authentication', () => {
  const deps = makeDeps();
  const app = buildHttpApp(deps);
  after(() => app.close());
  const routes = apiRouteTable(deps);

  void test('the route table covers every API route', () => {
    const names = routes.map((r) => `${r.method} ${r.url}`).sort();
    assert.deepEqual(names, [
      'DELETE /machines/:mac',
      'GET /config/entries',
      'GET /events',
      'GET /events/stream',
      'GET /machines',
      'GET /machines/:mac',
      'GET /machines/:mac/events',
      'GET /machines/:mac/page',
      'GET /machines/:mac/render/:artifact',
      'GET /openapi.json',
      'PATCH /machines/:mac',
      'POST /machines',
      'POST /machines/:mac/post-install',
      'POST /machines/:mac/reinstall',
    ]);
  });

  const wrong: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['wrong token', { authorization: 'Bearer nope' }],
    ['token prefix', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }],
    ['token plus suffix', { authorization: `Bearer ${ADMIN_TOKEN}x` }],
    ['basic scheme', { authorization: `Basic ${ADMIN_TOKEN}` }],
    ['bare token', { authorization: ADMIN_TOKEN }],
    ['empty bearer', { authorization: 'Bearer ' }],
  ];
  for (const r of routes) {
    void test(`${r.method} ${r.url} answers 401 and nothing else without the right token`, async () => {
      for (const [what, headers] of wrong) {
        const res = await app.inject({ method: r.method, url: concrete(r.url), headers, payload: r.body ? { mac: 'x' } : undefined });
        assert.equal(res.statusCode, 401, what);
        assert.deepEqual(res.json(), { error: 'HTTP_UNAUTHORIZED', message: 'missing or wrong bearer token' }, what);
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="pxed"');
      }
    });
  }

  void test('unknown /api/v1 paths are 401 before 404', async () => {
    assert.equal((await app.inject({ url: `${API_PREFIX}/nope` })).statusCode, 401);
    assert.equal((await app.inject({ url: `${API_PREFIX}/nope`, headers: auth })).statusCode, 404);
  });

  void test('nothing was created or changed by refused requests', () => {
    assert.equal(deps.admin.machines.size, 0);
    assert.equal(deps.admin.log.length, 0);
  });

  void test('adminToken null: every API route answers 401, whatever is sent', async () => {
    const d = makeDeps({ adminToken: null });
    const a = buildHttpApp(d);
    try {
      for (const r of apiRouteTable(d)) {
        for (const h of [{}, { authorization: 'Bearer ' }, { authorization: 'Bearer null' }, auth]) {
          assert.equal((await a.inject({ method: r.method, url: concrete(r.url), headers: h })).statusCode, 401);
        }
      }
    } finally {
      await a.close();
    }
  });

  void test('bearerChecker', () => {
    const ok = bearerChecker('s3cret');
    assert.equal(ok('Bearer s3cret'), true);
    assert.equal(ok('bearer s3cret'), true);
    assert.equal(ok('Bearer s3cre'), false);
    assert.equal(ok(undefined), false);
    assert.equal(bearerChecker('')('Bearer '), false);
    assert.equal(bearerChecker(null)('Bearer null'), false);
  });
});

void describe('machines API', () => {
  const deps = makeDeps();
  const app = buildHttpApp(deps);
  after(() => app.close());
  const mac = '52:54:00:aa:bb:01';

  void test('create, get, list, update, reinstall, events, delete', async () => {
    let res = await app.inject({ method: 'POST', url: `${API_PREFIX}/machines`, headers: auth, payload: { mac: '52-54-00-AA-BB-01', host: 'node1', installMode: 'always' } });
    assert.equal(res.statusCode, 201, res.body);
    const created = MachineSchema.parse(res.json());
    assert.equal(created.mac, mac);
    assert.equal(created.installMode, 'always');

    res = await app.inject({ method: 'POST', url: `${API_PREFIX}/machines`, headers: auth, payload: { mac, host: 'node1' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error, 'HTTP_CONFLICT');
    assert.equal(res.json().cause, 'REGISTRY_EXISTS');

    res = await app.inject({ url: `${API_PREFIX}/machines/5254.00aa.bb01`, headers: auth });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().host, 'node1');

    res = await app.inject({ url: `${API_PREFIX}/machines?state=registered`, headers: auth });
    assert.equal(res.json().length, 1);
    res = await app.inject({ url: `${API_PREFIX}/machines?state=installed`, headers: auth });
    assert.deepEqual(res.json(), []);

    res = await app.inject({ method: 'PATCH', url: `${API_PREFIX}/machines/${mac}`, headers: auth, payload: { host: 'node2', overrides: { efiBinary: 'ipxe.efi' } } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().host, 'node2');
    assert.deepEqual(res.json().overrides, { efiBinary: 'ipxe.efi' });

    res = await app.inject({ method: 'POST', url: `${API_PREFIX}/machines/${mac}/reinstall`, headers: auth });
    assert.equal(res.statusCode, 200, res.body);
    res = await app.inject({ method: 'POST', url: `${API_PREFIX}/machines/${mac}/reinstall`, headers: auth, payload: { reason: 'disk swapped' } });
    assert.equal(res.statusCode, 200, res.body);

    res = await app.inject({ url: `${API_PREFIX}/machines/${mac}/events`, headers: auth });
    assert.equal(res.statusCode, 200);
    const evs = res.json() as Array<{ id: number; detail: { reason: string } }>;
    assert.deepEqual(evs.map((e) => e.detail.reason), ['api', 'reinstall', 'disk swapped']);
    res = await app.inject({ url: `${API_PREFIX}/machines/${mac}/events?after=${evs[0]!.id}&limit=1`, headers: auth });
    assert.deepEqual(res.json().map((e: { id: number }) => e.id), [evs[1]!.id]);

    res = await app.inject({ url: `${API_PREFIX}/machines/${mac}/render/ipxe`, headers: auth });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /^#!ipxe\n/);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    res = await app.inject({ url: `${API_PREFIX}/machines/${mac}/render/user-data`, headers: auth });
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().error, 'HTTP_ARTIFACT_INVALID');
    assert.match(res.json().message, /user-data failed its schema/);
    res = await app.inject({ url: `${API_PREFIX}/machines/${mac}/render/nixos-config`, headers: auth });
    assert.equal(res.statusCode, 404);
    res = await app.inject({ url: `${API_PREFIX}/machines/${mac}/render/kernel`, headers: auth });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /^params\.artifact: /);

    res = await app.inject({ method: 'DELETE', url: `${API_PREFIX}/machines/${mac}`, headers: auth });
    assert.deepEqual(res.json(), { deleted: true });
    res = await app.inject({ method: 'DELETE', url: `${API_PREFIX}/machines/${mac}`, headers: auth });
    assert.equal(res.statusCode, 404);
    res = await app.inject({ url: `${API_PREFIX}/machines/${mac}`, headers: auth });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 'HTTP_NOT_FOUND');
    res = await app.inject({ method: 'POST', url: `${API_PREFIX}/machines/${mac}/reinstall`, headers: auth });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().cause, 'REGISTRY_NOT_FOUND');
    res = await app.inject({ url: `${API_PREFIX}/machines/${mac}/events`, headers: auth });
    assert.equal(res.statusCode, 404);
  });

  void test('illegal transitions are 409', async () => {
    const m = deps.admin.create({ mac: '52:54:00:aa:bb:09', host: 'x' });
    deps.admin.machines.set(m.mac, { ...m, state: 'discovered' });
    const res = await app.inject({ method: 'POST', url: `${API_PREFIX}/machines/52:54:00:aa:bb:09/reinstall`, headers: auth });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().cause, 'LIFECYCLE_ILLEGAL');
  });

  const bad: Array<[string, string, string, unknown, RegExp]> = [
    ['missing mac', 'POST', '/machines', { host: 'a' }, /^body\.mac: /],
    ['bad mac', 'POST', '/machines', { mac: '52:54:00:zz:00:01', host: 'a' }, /^body\.mac: must be a MAC/],
    ['bad host', 'POST', '/machines', { mac: '52:54:00:00:00:01', host: '../etc' }, /^body\.host: /],
    ['host wrong type', 'POST', '/machines', { mac: '52:54:00:00:00:01', host: 7 }, /^body\.host: /],
    ['bad mode', 'POST', '/machines', { mac: '52:54:00:00:00:01', host: 'a', installMode: 'sometimes' }, /^body\.installMode: /],
    ['unknown field', 'POST', '/machines', { mac: '52:54:00:00:00:01', host: 'a', state: 'installed' }, /^body\.state: unknown field/],
    ['bad override', 'POST', '/machines', { mac: '52:54:00:00:00:01', host: 'a', overrides: { uefiStrategy: 'x' } }, /^body\.overrides\.uefiStrategy: /],
    ['array body', 'POST', '/machines', [1], /^body: /],
    ['empty patch', 'PATCH', '/machines/52:54:00:00:00:01', {}, /^body: at least one/],
    ['patch mac', 'PATCH', '/machines/52:54:00:00:00:01', { mac: '52:54:00:00:00:02' }, /^body\.mac: unknown field/],
    ['bad mac in path', 'GET', '/machines/not-a-mac', undefined, /^params\.mac: /],
    ['bad state filter', 'GET', '/machines?state=happy', undefined, /^query\.state: /],
    ['bad after', 'GET', '/machines/52:54:00:00:00:01/events?after=-1', undefined, /^query\.after: /],
    ['reinstall reason type', 'POST', '/machines/52:54:00:00:00:01/reinstall', { reason: 5 }, /^body\.reason: /],
  ];
  for (const [what, method, url, payload, re] of bad) {
    void test(`400 naming the field: ${what}`, async () => {
      const res = await app.inject({ method: method as 'GET', url: API_PREFIX + url, headers: auth, payload: payload as object });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error, 'HTTP_BAD_REQUEST');
      assert.match(res.json().message, re);
    });
  }

  void test('400 for a body that is not JSON', async () => {
    const res = await app.inject({ method: 'POST', url: `${API_PREFIX}/machines`, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"mac":' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'HTTP_BAD_REQUEST');
    assert.match(res.json().message, /^body: /);
  });
});

void describe('openapi.json', () => {
  const deps = makeDeps();
  const app = buildHttpApp(deps);
  after(() => app.close());

  void test('is OpenAPI 3.1 with every route, generated from the schemas', async () => {
    const res = await app.inject({ url: `${API_PREFIX}/openapi.json`, headers: auth });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, '3.1.0');
    for (const r of apiRouteTable(deps)) {
      const p = (API_PREFIX + r.url).replace(/:([a-z]+)/g, '{$1}');
      assert.ok(doc.paths[p]?.[r.method.toLowerCase()], `${r.method} ${p} documented`);
    }
    assert.ok(doc.paths['/api/v1/boot/{token}/events'].post);
    assert.deepEqual(doc.paths['/api/v1/boot/{token}/events'].post.security, []);
    const create = doc.paths['/api/v1/machines'].post;
    const body = create.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required, ['mac', 'host']);
    assert.equal(body.additionalProperties, false);
    assert.deepEqual(body.properties.installMode.enum, ['once', 'always']);
    assert.ok(create.responses['201'].content['application/json'].schema.properties.state.enum.includes('installed'));
    const list = doc.paths['/api/v1/machines'].get;
    assert.deepEqual(list.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`), ['query:state', 'query:q', 'query:limit', 'query:offset']);
    const get = doc.paths['/api/v1/machines/{mac}'].get;
    assert.deepEqual(get.parameters[0].in, 'path');
    const render = doc.paths['/api/v1/machines/{mac}/render/{artifact}'].get;
    assert.deepEqual(render.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`), ['path:mac', 'path:artifact', 'query:settings']);
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of refs) assert.ok(doc.components.schemas[r.split('/').pop()!.replace('"', '')], r);
  });
});

void describe('event stream (SSE)', () => {
  /** Reads SSE blocks from a real socket until `until` says stop (or the timeout). */
  async function readStream(port: number, headers: Record<string, string>, until: (text: string) => boolean, onOpen?: () => void): Promise<{ status: number; text: string; ct: string }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`timeout; got: ${text}`));
      }, 5000);
      let text = '';
      const req = http.get({ host: '127.0.0.1', port, path: `${API_PREFIX}/events/stream`, headers }, (res) => {
        res.setEncoding('utf8');
        onOpen?.();
        res.on('data', (d: string) => {
          text += d;
          if (until(text)) {
            clearTimeout(timer);
            req.destroy();
            resolve({ status: res.statusCode ?? 0, text, ct: String(res.headers['content-type']) });
          }
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text, ct: String(res.headers['content-type']) });
        });
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  const deps = makeDeps({ sseHeartbeatMs: 50 });
  const app = buildHttpApp(deps);
  let port = 0;
  after(() => app.close());

  void test('delivers live events, heartbeats, and cleans up on client close', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    const r = await readStream(
      port,
      auth,
      (t) => t.includes('"kind":"dhcp-offer"') && t.includes(': heartbeat'),
      () => setTimeout(() => deps.admin.emit('52:54:00:00:00:07', 'dhcp-offer', { xid: 1 }), 20),
    );
    assert.equal(r.status, 200);
    assert.match(r.ct, /^text\/event-stream/);
    assert.match(r.text, /id: 1\ndata: \{"id":1,"mac":"52:54:00:00:00:07",.*"kind":"dhcp-offer"/);
    const deadline = Date.now() + 2000;
    while (deps.admin.listenerCount > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.equal(deps.admin.listenerCount, 0, 'listener removed after client close');
  });

  void test('resumes after Last-Event-ID without gaps or duplicates', async () => {
    for (let i = 0; i < 5; i++) deps.admin.emit('52:54:00:00:00:08', 'tftp', { n: i });
    // ids 2..6 exist; resume after 3 → 4, 5, 6, then a live one (7).
    const r = await readStream(
      port,
      { ...auth, 'last-event-id': '3' },
      (t) => t.includes('id: 7\n'),
      () => setTimeout(() => deps.admin.emit('52:54:00:00:00:08', 'asset', {}), 30),
    );
    const ids = [...r.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, [4, 5, 6, 7]);
  });

  void test('closing the app ends open streams', async () => {
    const done = readStream(port, auth, () => false, () => setTimeout(() => void app.close(), 30));
    const r = await done;
    assert.equal(r.status, 200);
    assert.equal(deps.admin.listenerCount, 0);
  });
});
