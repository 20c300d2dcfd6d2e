// Issue 14 item 4: the machine list is paged and filtered server-side (X-Total-Count); SSE clients are capped; the
// admin page's script fetches the list through one debounced loader.

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { buildHttpApp } from '../../src/http/app.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { auth, makeDeps } from './fakes.js';

const deps = makeDeps({ limits: { sseClients: 3 }, sseHeartbeatMs: 60_000 });
for (let i = 0; i < 1200; i++) {
  const mac = `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  await deps.admin.create({ mac, host: i === 77 ? 'needle-host' : `h${i}` });
}
const app = buildHttpApp(deps);
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
after(() => app.close());

void test('GET /api/v1/machines: default page of 500, limit/offset, q, X-Total-Count', async () => {
  let res = await app.inject({ url: '/api/v1/machines', headers: auth });
  assert.equal(res.statusCode, 200);
  assert.equal((res.json() as unknown[]).length, 500);
  assert.equal(res.headers['x-total-count'], '1200');
  res = await app.inject({ url: '/api/v1/machines?limit=10&offset=1195', headers: auth });
  assert.equal((res.json() as unknown[]).length, 5);
  res = await app.inject({ url: '/api/v1/machines?q=NEEDLE', headers: auth });
  assert.deepEqual((res.json() as Array<{ host: string }>).map((m) => m.host), ['needle-host']);
  assert.equal(res.headers['x-total-count'], '1');
  assert.equal((await app.inject({ url: '/api/v1/machines?limit=5000', headers: auth })).statusCode, 400);
});

void test('SSE clients beyond the cap answer 503', async () => {
  const ctl = new AbortController();
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${base}/api/v1/events/stream`, { headers: auth, signal: ctl.signal });
    statuses.push(res.status);
    if (res.status !== 200) await res.arrayBuffer();
  }
  ctl.abort();
  assert.deepEqual(statuses, [200, 200, 200, 503]);
});

void test('the admin page loads one page through a coalesced loader, never a fetch per event', () => {
  const js = readFileSync(path.join(repoRoot, 'ui', 'list.js'), 'utf8');
  assert.match(js, /const refresh = coalesced\(async \(\) => \{/);
  assert.match(js, /new URLSearchParams\(\{ limit: String\(PAGE\), offset: String\(offset\) \}\)/);
  assert.doesNotMatch(js, /api\('GET', '\/machines'\)/);
});
