// Issue 14 item 3 (one part): phone-home on a token revoked longer than the grace is refused without a write, and
// before its body is read.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REVOKED_GRACE_MS } from '../../src/boot/guard.js';
import { buildHttpApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/log.js';
import { hostSpec, rig, tokenOf } from '../boot/fixtures.js';
import { ADMIN_TOKEN } from './fakes.js';

void test('a long-revoked token: 404 and no timeline write; within the grace the repeat is still answered', async () => {
  const MAC = '52:54:00:14:00:03';
  const r = rig({}, [hostSpec('ubu1', 'ubuntu', { mac: MAC })]);
  r.registry.machineCreate({ mac: MAC, host: 'ubu1', state: 'registered' });
  const app = buildHttpApp({ policy: r.policy, admin: r.admin, assetRoots: [], ipxeBinRoots: [], adminToken: ADMIN_TOKEN, logger: silentLogger, ready: () => true });
  try {
    const token = tokenOf((await app.inject({ url: `/ipxe/${MAC}?buildarch=x86_64&platform=efi` })).body);
    const done = { name: 'subiquity/Late', event_type: 'finish', result: 'SUCCESS', origin: 'curtin', description: 'done' };
    const post = () => app.inject({ method: 'POST', url: `/api/v1/boot/${token}/events`, payload: done });
    assert.equal((await post()).statusCode, 200);
    assert.equal((await post()).statusCode, 200, 'a repeat within the grace is answered');
    r.clock.advanceMinutes(REVOKED_GRACE_MS / 60_000 + 1);
    const before = r.registry.eventList(MAC).length;
    for (let i = 0; i < 20; i++) assert.equal((await post()).statusCode, 404);
    assert.equal((await app.inject({ url: `/nocloud/${token}/user-data` })).statusCode, 404);
    assert.equal(r.registry.eventList(MAC).length, before, 'no event written');
  } finally {
    await app.close();
    r.close();
  }
});
