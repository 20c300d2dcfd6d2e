// The policy with the real Ubuntu profile from src/boot/os (not a stub): its install boot passes the iPXE helper,
// and its seed documents are served against the live token.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log.js';
import { BootPolicy } from '../../src/boot/policy.js';
import { createUbuntuProfile } from '../../src/boot/os/index.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import { FakeClock, MAC, hostSpec, provisioningOf, settings, tokenOf } from './fixtures.js';

void test('real Ubuntu profile: install script, seed documents, phone-home', async () => {
  const host = hostSpec('ubu1', 'ubuntu', {
    image: {
      os: 'ubuntu',
      version: '24.04',
      iso_url: 'http://10.77.0.2:8080/assets/ubuntu/ubuntu-24.04.1-live-server-amd64.iso',
      kernel_url: 'http://10.77.0.2:8080/assets/ubuntu/24.04/vmlinuz',
      initrd_url: 'http://10.77.0.2:8080/assets/ubuntu/24.04/initrd',
      codename: 'noble',
    },
  });
  const clock = new FakeClock();
  const registry = openRegistry(':memory:', { now: () => clock.now() });
  const policy = new BootPolicy({
    registry,
    provisioning: provisioningOf([host]),
    settings: settings(),
    osProfiles: { ubuntu: createUbuntuProfile() },
    clock,
    logger: silentLogger,
  });
  try {
    registry.machineCreate({ mac: MAC, host: 'ubu1', state: 'registered' });
    const script = String((await policy.machineScript({ mac: MAC, query: { arch: 'x86_64', platform: 'efi' }, clientAddress: '10.77.0.50' })).body);
    assert.match(script, /^kernel http:\/\/10\.77\.0\.2:8080\/assets\/ubuntu\/24\.04\/vmlinuz initrd=initrd ip=dhcp .*autoinstall ds=nocloud;s=http:\/\/10\.77\.0\.2:8080\/nocloud\/[A-Za-z0-9_-]{43}\/ --- \|\| goto pxed-fail$/m);
    const token = tokenOf(script);
    const ud = await policy.tokenArtifact({ family: 'nocloud', token, name: 'user-data', clientAddress: '10.77.0.50' });
    assert.match(String(ud?.body), /^#cloud-config/);
    assert.ok(String(ud?.body).includes(`/api/v1/boot/${token}/events`));
    assert.equal(registry.machineGet(MAC)?.state, 'installing');
    const done = await policy.phoneHome({
      token,
      body: { event_type: 'finish', name: 'subiquity/Late/run', result: 'SUCCESS', origin: 'curtin', description: '', timestamp: 1 },
      clientAddress: '10.77.0.50',
    });
    assert.deepEqual(done, { state: 'installed' });
  } finally {
    registry.close();
  }
});
