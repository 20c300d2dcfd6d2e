import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { isPxedError } from '../../../src/errors.js';
import { installContext } from '../../../src/boot/os-profile.js';
import { createUbuntuProfile } from '../../../src/boot/os/index.js';
import { nocloudDsArg, renderUserData, userDataObject } from '../../../src/boot/os/ubuntu.js';
import { SERVER_URL, TOKEN, ctxFor, exampleProvisioning, variant } from './helpers.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function artifactInvalid(field: string) {
  return (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID') && e.details?.field === field && e.message.includes(field);
}

void test('cmdline: 24.04 uses ds=nocloud, 22.04 ds=nocloud-net; seed URL keeps its trailing slash; extra args after ---', async () => {
  const prov = await exampleProvisioning();
  const web = prov.hostByName('web-01')!;
  const bm = prov.hostByName('baremetal-01')!;
  const p = createUbuntuProfile({ extraArgs: ['console=tty0', 'console=ttyS0,115200n8'] });
  const a = p.renderInstall(web, ctxFor(web));
  assert.equal(
    a.cmdline,
    `ip=dhcp url=${web.image!.os === 'ubuntu' ? web.image!.iso_url : ''} cloud-config-url=/dev/null autoinstall ds=nocloud;s=${SERVER_URL}/nocloud/${TOKEN}/ --- console=tty0 console=ttyS0,115200n8`,
  );
  assert.equal(a.kernel, 'http://releases.ubuntu.com/24.04.4/netboot/amd64/linux');
  assert.deepEqual(a.initrds, ['http://releases.ubuntu.com/24.04.4/netboot/amd64/initrd']);
  assert.match(p.renderInstall(bm, ctxFor(bm)).cmdline, / ds=nocloud-net;s=http:\/\/192\.0\.2\.1:8080\/nocloud\/[^ ]+\/ ---/);
  assert.equal(nocloudDsArg('26.04', 'http://x/'), 'ds=nocloud;s=http://x/');
  assert.throws(() => nocloudDsArg('noble', 'http://x/'), artifactInvalid('install.version'));
  assert.throws(() => createUbuntuProfile({ extraArgs: ['a b'] }).renderInstall(web, ctxFor(web)), artifactInvalid('extraArgs[0]'));
});

void test('context values are validated: server URL, token, MAC', async () => {
  const prov = await exampleProvisioning();
  const web = prov.hostByName('web-01')!;
  const p = createUbuntuProfile();
  assert.throws(() => p.renderInstall(web, installContext('http://192.0.2.1:8080/', TOKEN, web.mac!, 'web-01')), artifactInvalid('serverUrl'));
  assert.throws(() => p.renderInstall(web, installContext('http://a;b', TOKEN, web.mac!, 'web-01')), artifactInvalid('serverUrl'));
  assert.throws(() => p.renderInstall(web, installContext(SERVER_URL, 'tok;en${x}', web.mac!, 'web-01')), artifactInvalid('token'));
  assert.throws(() => p.renderInstall(web, installContext(SERVER_URL, TOKEN, 'AA:BB', 'web-01')), artifactInvalid('mac'));
});

void test('user-data: identity user when the first user has a password, sudo and bash; others via cloud-init users', async () => {
  const prov = await exampleProvisioning();
  const web = prov.hostByName('web-01')!;
  const host = variant(web, (h) => {
    h.install.users = [
      { username: 'ops', ssh_authorized_keys: [...web.install.users[0]!.ssh_authorized_keys], sudo: true, shell: '/bin/bash', password_hash: '$6$salt$hash' },
      { username: 'dev', ssh_authorized_keys: [], sudo: true, shell: '/bin/zsh', password_hash: '$6$s2$h2' },
      { username: 'bot', ssh_authorized_keys: [], sudo: false, shell: '/bin/sh', password_hash: null },
    ];
  });
  const doc = YAML.parse(renderUserData(host, ctxFor(host)), { version: '1.1' }) as Obj;
  const ai = doc.autoinstall as Obj;
  assert.deepEqual(ai.identity, { hostname: 'web-01', username: 'ops', password: '$6$salt$hash' });
  assert.deepEqual(ai.ssh, { 'install-server': true, 'allow-pw': false, 'authorized-keys': web.install.users[0]!.ssh_authorized_keys });
  assert.deepEqual(ai['user-data'].users, [
    { name: 'dev', shell: '/bin/zsh', hashed_passwd: '$6$s2$h2', lock_passwd: false, groups: ['sudo', 'docker'] },
    { name: 'bot', shell: '/bin/sh', lock_passwd: true, groups: ['docker'] },
  ]);
  // docker: Docker's apt repository inside the target, then the identity user joins the docker group.
  const late = ai['late-commands'] as unknown[];
  assert.deepEqual((late[0] as string[]).slice(0, 6), ['curtin', 'in-target', '--target=/target', '--', 'sh', '-c']);
  assert.match((late[0] as string[])[6]!, /download\.docker\.com\/linux\/ubuntu \$VERSION_CODENAME stable/);
  assert.deepEqual(late[1], ['curtin', 'in-target', '--target=/target', '--', 'usermod', '-aG', 'docker', 'ops']);
  assert.match(late[2] as string, /"status":"installed"/);
  assert.match((ai['error-commands'] as string[])[0]!, /"status":"failed"/);
  assert.deepEqual(ai.reporting, { pxed: { type: 'webhook', endpoint: `${SERVER_URL}/api/v1/boot/${TOKEN}/events` } });
  assert.equal(doc['#cloud-config'], undefined);
});

void test('network: bare-metal VLANs and MTU, DHCP with optional secondary NICs, match by MAC, routes not gateway4', async () => {
  const prov = await exampleProvisioning();
  const bm = prov.hostByName('baremetal-01')!;
  const host = variant(bm, (h) => {
    h.netifs = [
      { bridge: 'vmbr0', vlan: null, mac: '00:25:90:ab:cd:01', model: 'virtio', mtu: 9000 },
      { bridge: 'vmbr0', vlan: 30, mac: '00:25:90:ab:cd:02', model: 'virtio', mtu: null },
    ];
    h.install.network = { ...h.install.network, interfaces: [], dhcp: true, address_cidr: null, gateway: null };
  });
  const ai = userDataObject(host, ctxFor(host)).autoinstall as Obj;
  assert.deepEqual(ai.network, {
    version: 2,
    ethernets: {
      nic0: { match: { macaddress: '00:25:90:ab:cd:01' }, mtu: 9000, dhcp4: true, nameservers: { addresses: ['192.0.2.53'], search: ['example.org'] } },
      nic1: { match: { macaddress: '00:25:90:ab:cd:02' }, dhcp4: false },
    },
    vlans: { 'nic1.30': { id: 30, link: 'nic1', dhcp4: true, optional: true } },
  });
  // Proxmox: the bridge tags the VLAN, the guest sees untagged frames (web-01 has vlan 20 on its netif).
  const web = prov.hostByName('web-01')!;
  const wai = userDataObject(web, ctxFor(web)).autoinstall as Obj;
  assert.equal(wai.network.vlans, undefined);
  assert.deepEqual(wai.network.ethernets.nic0.routes, [{ to: 'default', via: '192.0.2.1' }]);
  assert.equal(JSON.stringify(wai.network).includes('gateway4'), false);
});

void test('an invalid artifact is never returned: ARTIFACT_INVALID names the field', async () => {
  const prov = await exampleProvisioning();
  const web = prov.hostByName('web-01')!;
  const p = createUbuntuProfile();
  // A host that bypassed config validation (a number where the password hash belongs).
  const broken = variant(web, (h) => {
    h.install.users = [{ ...h.install.users[0]!, password_hash: 12345 as unknown as string }];
  });
  assert.throws(() => p.renderArtifact('nocloud', 'user-data', broken, ctxFor(broken)), artifactInvalid('autoinstall.identity.password'));
  const broken2 = variant(web, (h) => {
    h.install.users = [{ ...h.install.users[0]!, ssh_authorized_keys: [42 as unknown as string] }];
  });
  assert.throws(
    () => p.renderArtifact('nocloud', 'user-data', broken2, ctxFor(broken2)),
    artifactInvalid('autoinstall.user-data.users[0].ssh_authorized_keys[0]'),
  );
  const broken3 = variant(web, (h) => {
    h.install.partitioning.disk = "/dev/sda'; reboot; '";
  });
  assert.throws(() => p.renderArtifact('nocloud', 'user-data', broken3, ctxFor(broken3)), artifactInvalid('install.partitioning.disk'));
  const nixHost = prov.hostByName('ci-runner-01')!;
  assert.throws(() => p.renderInstall(nixHost, ctxFor(nixHost)), artifactInvalid('install.os'));
  const noImage = variant(web, (h) => {
    h.image = null;
  });
  assert.throws(() => p.renderInstall(noImage, ctxFor(noImage)), artifactInvalid('image'));
});

void test('meta-data: instance-id per boot token (not the token itself) and local-hostname', async () => {
  const prov = await exampleProvisioning();
  const web = prov.hostByName('web-01')!;
  const p = createUbuntuProfile();
  const a = YAML.parse(String(p.renderArtifact('nocloud', 'meta-data', web, ctxFor(web))!.body)) as Obj;
  const b = YAML.parse(String(p.renderArtifact('nocloud', 'meta-data', web, ctxFor(web, 'another-token-xyz'))!.body)) as Obj;
  assert.equal(a['local-hostname'], 'web-01');
  assert.notEqual(a['instance-id'], b['instance-id']);
  assert.equal(String(a['instance-id']).includes(TOKEN), false);
});

void test('phone-home commands: sh runs curl with a JSON body and the events URL, and never fails the install', async () => {
  const prov = await exampleProvisioning();
  const web = prov.hostByName('web-01')!;
  const ai = (YAML.parse(renderUserData(web, ctxFor(web)), { version: '1.1' }) as Obj).autoinstall as Obj;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-late-'));
  try {
    // A curl that records its arguments (NUL-separated) and fails, like an unreachable pxed.
    writeFileSync(path.join(dir, 'curl'), '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done > "$OUT"\nexit 7\n', { mode: 0o755 });
    for (const [cmd, status] of [[(ai['late-commands'] as string[]).at(-1)!, 'installed'], [(ai['error-commands'] as string[])[0]!, 'failed']] as const) {
      const out = path.join(dir, 'args');
      const r = spawnSync('/bin/sh', ['-c', cmd], { env: { PATH: `${dir}:/usr/bin:/bin`, OUT: out }, encoding: 'utf8' });
      assert.equal(r.status, 0, 'a failed phone-home must not fail the install');
      const args = readFileSync(out, 'utf8').split('\0').slice(0, -1);
      assert.deepEqual(args.slice(0, 9), ['-fsS', '--retry', '3', '--max-time', '20', '-X', 'POST', '-H', 'Content-Type: application/json']);
      assert.equal(args[9], '--data');
      assert.equal((JSON.parse(args[10]!) as { status: string }).status, status);
      assert.equal(args[11], `${SERVER_URL}/api/v1/boot/${TOKEN}/events`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
