// The HTTP app over the real BootPolicy, MachineAdmin and SQLite registry (in memory): one machine driven through
// registered → booting → installing → installed → local boot by HTTP requests only, as an installer would.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { MachineAdmin } from '../../src/boot/admin.js';
import { buildHttpApp } from '../../src/http/app.js';
import type { AdminApi } from '../../src/http/types.js';
import { silentLogger } from '../../src/log.js';
import { hostSpec, rig, tokenOf } from '../boot/fixtures.js';
import { ADMIN_TOKEN, auth } from './fakes.js';

// Compile-time: MachineAdmin satisfies AdminApi structurally.
const _adminFits = (a: MachineAdmin): AdminApi => a;
void _adminFits;

const MAC = '52:54:00:77:00:31';
const r = rig({}, [hostSpec('ubu1', 'ubuntu', { mac: MAC })]);
const app = buildHttpApp({
  policy: r.policy,
  admin: r.admin,
  assetRoots: [],
  ipxeBinRoots: [],
  adminToken: ADMIN_TOKEN,
  logger: silentLogger,
  ready: () => true,
});
after(async () => {
  await app.close();
  r.close();
});

const state = async (): Promise<string> => (await app.inject({ url: `/api/v1/machines/${MAC}`, headers: auth })).json().state;

void test('one machine through its lifecycle over HTTP', async () => {
  let res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: auth, payload: { mac: MAC.toUpperCase(), host: 'ubu1' } });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(await state(), 'registered');

  res = await app.inject({ url: '/boot.ipxe' });
  assert.match(res.body, /^#!ipxe\n/);

  res = await app.inject({ url: `/ipxe/${MAC}?buildarch=x86_64&platform=efi` });
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /^#!ipxe\n/);
  assert.match(res.body, /kernel /);
  const token = tokenOf(res.body);
  assert.equal(await state(), 'booting');

  res = await app.inject({ url: `/api/v1/machines/${MAC}/render/user-data`, headers: auth });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(await state(), 'booting', 'a preview changes nothing');

  res = await app.inject({ url: `/nocloud/${token}/user-data` });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.body, /^#cloud-config/);
  assert.equal(await state(), 'installing');
  assert.equal((await app.inject({ url: `/nocloud/not-a-token/user-data` })).statusCode, 404);

  res = await app.inject({
    method: 'POST',
    url: `/api/v1/boot/${token}/events`,
    payload: { name: 'subiquity/Late', event_type: 'finish', result: 'SUCCESS', origin: 'curtin', description: 'done' },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(await state(), 'installed');

  res = await app.inject({ url: `/ipxe/${MAC}?buildarch=x86_64&platform=efi` });
  assert.match(res.body, /^#!ipxe\n/);
  assert.match(res.body, /\nexit/);
  assert.doesNotMatch(res.body, /kernel /, 'never the installer again');
  assert.equal(await state(), 'installed');

  // Previews take the iPXE settings too: a BIOS client leaves through sanboot, an EFI one through exit.
  res = await app.inject({ url: `/api/v1/machines/${MAC}/render/ipxe?platform=pcbios&buildarch=i386`, headers: auth });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.body, /sanboot/);
  res = await app.inject({ url: `/api/v1/machines/${MAC}/render/ipxe?platform=efi&buildarch=x86_64`, headers: auth });
  assert.doesNotMatch(res.body, /sanboot/);
  res = await app.inject({ url: `/api/v1/machines/${MAC}/render/ipxe?Platform!=x`, headers: auth });
  assert.equal(res.statusCode, 400);
  assert.match(res.json().message, /^query/);

  res = await app.inject({ url: `/api/v1/machines/${MAC}/events`, headers: auth });
  const kinds = (res.json() as Array<{ kind: string; detail: { to?: string } }>).filter((e) => e.kind === 'state').map((e) => e.detail.to);
  assert.deepEqual(kinds, ['registered', 'booting', 'installing', 'installed']);

  // The admin's coded errors map to the documented statuses.
  res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: auth, payload: { mac: MAC, host: 'ubu1' } });
  assert.equal(res.statusCode, 409);
  res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: auth, payload: { mac: '52:54:00:77:00:32', host: 'nosuch' } });
  assert.equal(res.statusCode, 400);
  assert.match(res.json().message, /^host: /);
  res = await app.inject({ url: '/api/v1/machines/52:54:00:77:00:99', headers: auth });
  assert.equal(res.statusCode, 404);
  res = await app.inject({ method: 'DELETE', url: '/api/v1/machines/52:54:00:77:00:99', headers: auth });
  assert.equal(res.statusCode, 404);

  res = await app.inject({ method: 'POST', url: `/api/v1/machines/${MAC}/reinstall`, headers: auth });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(await state(), 'registered');
  assert.equal((await app.inject({ url: `/nocloud/${token}/user-data` })).statusCode, 404, 'reinstall revoked the token');

  res = await app.inject({ method: 'DELETE', url: `/api/v1/machines/${MAC}`, headers: auth });
  assert.equal(res.statusCode, 200);
});
