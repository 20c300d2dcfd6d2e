import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError, type ErrorCode } from '../../src/errors.js';
import { PREVIEW_TOKEN } from '../../src/boot/os-profile.js';
import type { BootEvent } from '../../src/model/events.js';
import { MAC, rig } from './fixtures.js';

const code = (c: ErrorCode) => (e: unknown) => isPxedError(e, c);

void test('create/get/list/update/delete with coded errors', () => {
  const r = rig();
  try {
    const m = r.admin.create({ mac: '52-54-00-77-00-10', host: 'lab1' });
    assert.equal(m.mac, MAC);
    assert.equal(m.state, 'registered');
    assert.equal(m.installMode, 'once');
    assert.throws(() => r.admin.create({ mac: MAC, host: 'lab1' }), code('MACHINE_CONFLICT'));
    assert.throws(() => r.admin.create({ mac: 'zz:zz', host: 'lab1' }), (e: unknown) => isPxedError(e, 'MACHINE_BAD_INPUT') && e.details?.field === 'mac');
    assert.throws(() => r.admin.create({ mac: '52:54:00:00:00:01', host: 'nope' }), (e: unknown) => isPxedError(e, 'MACHINE_BAD_INPUT') && e.details?.field === 'host');
    assert.throws(
      () => r.admin.create({ mac: '52:54:00:00:00:01', host: 'lab1', installMode: 'sometimes' as 'once' }),
      (e: unknown) => isPxedError(e, 'MACHINE_BAD_INPUT') && e.details?.field === 'installMode',
    );
    assert.throws(
      () => r.admin.create({ mac: '52:54:00:00:00:01', host: 'lab1', overrides: { efiBinary: '../x.efi' } }),
      (e: unknown) => isPxedError(e, 'MACHINE_BAD_INPUT') && e.details?.field === 'overrides.efiBinary',
    );
    assert.equal(r.admin.get('5254.0077.0010').mac, MAC);
    assert.throws(() => r.admin.get('52:54:00:00:00:01'), code('MACHINE_NOT_FOUND'));
    assert.equal(r.admin.list().length, 1);
    assert.equal(r.admin.list({ state: 'installed' }).length, 0);
    assert.throws(() => r.admin.list({ state: 'bogus' }), code('MACHINE_BAD_INPUT'));
    const u = r.admin.update(MAC, { installMode: 'always', overrides: { uefiStrategy: 'direct' } });
    assert.equal(u.installMode, 'always');
    assert.equal(u.overrides.uefiStrategy, 'direct');
    assert.equal(u.state, 'registered');
    r.admin.delete(MAC);
    assert.throws(() => r.admin.delete(MAC), code('MACHINE_NOT_FOUND'));
  } finally {
    r.close();
  }
});

void test('a discovered machine is registered by create or by update with a host', () => {
  const r = rig();
  try {
    r.registry.machineCreate({ mac: MAC, host: null, state: 'discovered' });
    assert.throws(() => r.admin.reinstall(MAC), code('MACHINE_CONFLICT'));
    const m = r.admin.create({ mac: MAC, host: 'lab1' });
    assert.equal(m.state, 'registered');
    assert.equal(m.host, 'lab1');
    r.registry.machineCreate({ mac: '52:54:00:00:00:02', host: null, state: 'discovered' });
    assert.equal(r.admin.update('52:54:00:00:00:02', { host: 'ubu1', force: true }).state, 'registered');
  } finally {
    r.close();
  }
});

void test('events, subscribe and reinstall', async () => {
  const r = rig();
  try {
    const seen: BootEvent[] = [];
    const off = r.admin.subscribe((e) => seen.push(e));
    r.admin.create({ mac: MAC, host: 'lab1' });
    await r.policy.machineScript({ mac: MAC, query: {}, clientAddress: '10.0.0.5' });
    r.admin.reinstall(MAC);
    off();
    r.admin.reinstall(MAC);
    assert.deepEqual(
      seen.map((e) => e.kind),
      ['state', 'state', 'ipxe-script', 'state'],
    );
    assert.equal(r.admin.events(MAC).length, 5);
    assert.equal(r.admin.events(MAC, { afterId: seen[1]!.id }).length, 3);
    assert.equal(r.admin.allEvents().length, 5);
    assert.throws(() => r.admin.events('52:54:00:00:00:09'), code('MACHINE_NOT_FOUND'));
  } finally {
    r.close();
  }
});

void test('preview renders without minting a token, changing state or recording events', () => {
  const r = rig();
  try {
    r.admin.create({ mac: MAC, host: 'ubu1' });
    r.admin.create({ mac: '52:54:00:00:00:02', host: 'nix1', force: true });
    const before = r.registry.eventListAll().length;
    const ipxe = String(r.admin.preview(MAC, 'ipxe').body);
    assert.match(ipxe, new RegExp(`/nocloud/${PREVIEW_TOKEN}/`));
    assert.match(ipxe, /boot preview/);
    assert.match(String(r.admin.preview(MAC, 'user-data').body), new RegExp(`/api/v1/boot/${PREVIEW_TOKEN}/events`));
    assert.match(String(r.admin.preview(MAC, 'meta-data').body), /instance-id/);
    assert.match(String(r.admin.preview('52:54:00:00:00:02', 'nixos-install').body), new RegExp(PREVIEW_TOKEN));
    assert.throws(() => r.admin.preview(MAC, 'nixos-config'), code('BOOT_NOT_FOUND'));
    assert.throws(() => r.admin.preview(MAC, 'kickstart'), code('BOOT_BAD_INPUT'));
    assert.throws(() => r.admin.preview(MAC, '__proto__'), code('BOOT_BAD_INPUT'));
    assert.equal(r.registry.eventListAll().length, before);
    assert.equal(r.registry.machineGet(MAC)?.state, 'registered');
    // The placeholder is never a live token.
    assert.equal(r.registry.tokenGet('x'), null);
  } finally {
    r.close();
  }
});

void test('bootSettingsFromConfig maps the daemon config', async () => {
  const { daemonConfigSchema } = await import('../../src/config/daemon.js');
  const { bootSettingsFromConfig } = await import('../../src/boot/settings.js');
  const cfg = daemonConfigSchema.parse({ admin: { token_env: 'PXED_TOKEN' }, http: { port: 9000 }, policy: { unknown_macs: 'discover' } });
  const s = bootSettingsFromConfig(cfg, '10.0.0.2');
  assert.equal(s.serverAddress, '10.0.0.2');
  assert.equal(s.httpPort, 9000);
  assert.equal(s.unknownMacs, 'discover');
  assert.equal(s.uefiStrategy, 'binl');
  assert.deepEqual(s.localBoot, { bios: 'sanboot', efi: 'exit' });
  assert.equal(s.watchdogMinutes, 60);
  assert.equal(s.tokenTtlMinutes, 240);
});
