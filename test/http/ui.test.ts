// The admin page's server side on the real policy and registry (inject, no sockets): only the sign-in page is
// readable without a session; sign-in sets an HttpOnly SameSite=Strict cookie with an expiry; session writes need
// the anti-CSRF header; sessions expire; sign-out ends the session; the page data and entry list come through
// /api/v1; registering a MAC an entry's configuration does not name needs `force`.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { buildHttpApp } from '../../src/http/app.js';
import { SessionStore, SESSION_COOKIE } from '../../src/http/ui/session.js';
import { silentLogger } from '../../src/log.js';
import { MACHINE_STATES } from '../../src/model/machine.js';
import { MAC, rig } from '../boot/fixtures.js';
import { repoRoot } from '../helpers/paths.js';

const TOKEN = 'ui-test-admin-token-0123456789';
const r = rig();
const app = buildHttpApp({
  policy: r.policy,
  admin: r.admin,
  assetRoots: [],
  ipxeBinRoots: [],
  adminToken: TOKEN,
  logger: silentLogger,
  ready: () => true,
});
after(async () => {
  await app.close();
  r.close();
});

async function signIn(): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await app.inject({ method: 'POST', url: '/ui/session', payload: { token: TOKEN } });
  assert.equal(res.statusCode, 200, res.body);
  const setCookie = String(res.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: (res.json() as { csrf: string }).csrf, setCookie };
}

void describe('admin page server side', () => {
  void it('serves only the sign-in page, its script and the stylesheet without a session', async () => {
    for (const url of ['/ui/signin.html', '/ui/signin.js', '/ui/app.css']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
    for (const url of ['/ui/', '/ui/index.html', '/ui/machine.html?mac=x']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 303, url);
      assert.equal(res.headers.location, '/ui/signin.html');
    }
    for (const url of ['/ui/list.js', '/ui/common.js', '/ui/machine.js', '/ui/nope.js', '/ui/session', '/api/v1/config/entries']) {
      assert.equal((await app.inject({ url })).statusCode, 401, url);
    }
    const root = await app.inject({ url: '/' });
    assert.equal(root.headers.location, '/ui/signin.html');
  });

  void it('a wrong token signs nobody in and sets no cookie', async () => {
    const res = await app.inject({ method: 'POST', url: '/ui/session', payload: { token: 'wrong' } });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal((await app.inject({ method: 'POST', url: '/ui/session', payload: { nope: 1 } })).statusCode, 400);
  });

  void it('sign-in: HttpOnly SameSite=Strict cookie with an expiry; the page files and API open up', async () => {
    const { cookie, setCookie } = await signIn();
    assert.match(setCookie, /^pxed_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const page = await app.inject({ url: '/ui/', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<script type="module" src="\/ui\/list\.js"><\/script>/);
    assert.doesNotMatch(page.body, /<script>|<style>|style="|https?:\/\//, 'no inline code and no external resources');
    assert.equal((await app.inject({ url: '/ui/list.js', headers: { cookie } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/', headers: { cookie } })).headers.location, '/ui/');
    const entries = await app.inject({ url: '/api/v1/config/entries', headers: { cookie } });
    assert.deepEqual(
      (entries.json() as { name: string }[]).map((e) => e.name),
      ['lab1', 'ubu1', 'nix1'],
    );
  });

  void it('session writes need the anti-CSRF header; the bearer token still works alone', async () => {
    const { cookie, csrf } = await signIn();
    let res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: { cookie }, payload: { mac: MAC, host: 'ubu1' } });
    assert.equal(res.statusCode, 403);
    assert.equal((res.json() as { error: string }).error, 'HTTP_FORBIDDEN');
    res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: { cookie, 'x-pxed-csrf': 'forged' }, payload: { mac: MAC, host: 'ubu1' } });
    assert.equal(res.statusCode, 403);
    res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: { cookie, 'x-pxed-csrf': csrf }, payload: { mac: '5254.0077.0010', host: 'ubu1' } });
    assert.equal(res.statusCode, 201, res.body);
    res = await app.inject({ method: 'POST', url: `/api/v1/machines/${MAC}/reinstall`, headers: { authorization: `Bearer ${TOKEN}` }, payload: {} });
    assert.equal(res.statusCode, 200);
  });

  void it('machine page data: identity, stage view with sentences, previews with their validation result', async () => {
    const { cookie } = await signIn();
    r.policy.machineScript({ mac: MAC, query: { buildarch: 'x86_64', platform: 'efi' }, clientAddress: '10.77.0.50' });
    const res = await app.inject({ url: `/api/v1/machines/${MAC.toUpperCase()}/page`, headers: { cookie } });
    assert.equal(res.statusCode, 200, res.body);
    const page = res.json() as {
      machine: { mac: string; ip: string | null };
      entry: { name: string; hostname: string };
      view: { stage: string; bar: { status: string }[]; boots: { lines: { text: string }[] }[] };
      previews: { artifact: string; ok: boolean; body?: string }[];
    };
    assert.equal(page.machine.mac, MAC);
    assert.equal(page.entry.name, 'ubu1');
    assert.equal(page.view.stage, 'kernel-initrd');
    assert.ok(page.view.boots.flatMap((b) => b.lines.map((l) => l.text)).includes('iPXE script: ubuntu install'));
    assert.deepEqual(page.previews.map((p) => [p.artifact, p.ok]), [['ipxe', true], ['user-data', true], ['meta-data', true]]);
    assert.equal((await app.inject({ url: '/api/v1/machines/52:54:00:00:00:99/page', headers: { cookie } })).statusCode, 404);
  });

  void it('the list is paged, filtered and searched on the server (X-Total-Count)', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    for (let i = 0; i < 3; i++) r.admin.create({ mac: `52:54:00:aa:00:0${i}`, host: i === 2 ? 'nix1' : 'lab1', force: true });
    let res = await app.inject({ url: '/api/v1/machines?limit=2&offset=1', headers });
    assert.equal(res.headers['x-total-count'], '4');
    assert.equal((res.json() as unknown[]).length, 2);
    res = await app.inject({ url: '/api/v1/machines?q=5254.00AA', headers });
    assert.equal(res.headers['x-total-count'], '3');
    res = await app.inject({ url: '/api/v1/machines?q=NIX&state=registered', headers });
    assert.deepEqual((res.json() as { mac: string }[]).map((m) => m.mac), ['52:54:00:aa:00:02']);
    assert.equal((await app.inject({ url: '/api/v1/machines?limit=-1', headers })).statusCode, 400);
  });

  void it('sign-out needs the anti-CSRF header, then the cookie is dead', async () => {
    const { cookie, csrf } = await signIn();
    assert.equal((await app.inject({ method: 'DELETE', url: '/ui/session', headers: { cookie } })).statusCode, 403);
    const out = await app.inject({ method: 'DELETE', url: '/ui/session', headers: { cookie, 'x-pxed-csrf': csrf } });
    assert.equal(out.statusCode, 200);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    assert.equal((await app.inject({ url: '/api/v1/machines', headers: { cookie } })).statusCode, 401);
    assert.equal((await app.inject({ url: '/ui/', headers: { cookie } })).statusCode, 303);
  });
  void it('a MAC the entry does not name is refused with the reason unless forced', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    let res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers, payload: { mac: '52:54:00:bb:00:01', host: 'nix1' } });
    assert.equal(res.statusCode, 409);
    const body = res.json() as { error: string; cause: string; message: string };
    assert.deepEqual([body.error, body.cause], ['HTTP_CONFLICT', 'MACHINE_MAC_MISMATCH']);
    assert.match(body.message, /configures the NIC 52:54:00:77:00:10, not 52:54:00:bb:00:01: .*unreachable after its install/);
    res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers, payload: { mac: '52:54:00:bb:00:01', host: 'nix1', force: true } });
    assert.equal(res.statusCode, 201, res.body);
    res = await app.inject({ method: 'PATCH', url: '/api/v1/machines/52:54:00:bb:00:01', headers, payload: { force: true } });
    assert.equal(res.statusCode, 400, 'force alone changes nothing');
  });

  void it('sessions end at their expiry', () => {
    let now = 1_000_000;
    const store = new SessionStore(() => now, 60_000);
    const s = store.create();
    const req = { headers: { cookie: `other=1; ${SESSION_COOKIE}=${s.id}` } } as unknown as FastifyRequest;
    assert.notEqual(store.of(req), null);
    now += 60_000;
    assert.equal(store.of(req), null);
  });

  void it("the page's state list is the model's", () => {
    const js = readFileSync(path.join(repoRoot, 'ui', 'common.js'), 'utf8');
    const m = /export const STATES = (\[[^\]]*\]);/.exec(js);
    assert.ok(m);
    assert.deepEqual(JSON.parse(m[1]!.replace(/'/g, '"')), [...MACHINE_STATES]);
  });
});
