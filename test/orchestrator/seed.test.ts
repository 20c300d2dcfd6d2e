// The cloud-init seeds of boot_method iso and image: the NoCloud seed ISO is built for real with xorriso and read
// back (volume id, files); its user-data is byte for byte what the PXE path serves for the same boot; the image
// method's cloud-config creates every user and phones home with the armed boot's token; hostile input is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { installContext } from '../../src/boot/os-profile.js';
import { renderUserData } from '../../src/boot/os/ubuntu.js';
import { parseYaml11 } from '../../src/boot/os/yaml.js';
import type { HostSpec } from '../../src/config/provisioning.js';
import { isPxedError } from '../../src/errors.js';
import { openLog } from '../../src/orchestrator/exec.js';
import { buildSeedIso, imageSeedDocuments, isoSeedDocuments } from '../../src/orchestrator/seed.js';
import { hostSpec } from '../boot/fixtures.js';
import { webHost } from './ansible/fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-seed-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MAC = '02:94:7c:99:c7:09';
const ARM = { serverUrl: 'http://10.67.0.2:8080', token: 'tok_ABCdef0123456789-xyzXYZ' };

function staticHost(): HostSpec {
  const h = webHost();
  return {
    ...h,
    boot_method: 'iso',
    image: { os: 'ubuntu', version: '24.04', iso_url: 'http://mirror.lab/ubuntu-24.04-live-server-amd64.iso', kernel_url: 'ubuntu/vmlinuz', initrd_url: 'ubuntu/initrd', codename: 'noble' },
    install: { ...h.install, network: { ...h.install.network, dhcp: false, address_cidr: '10.67.0.50/24', gateway: '10.67.0.1', dns: ['10.67.0.1'] } },
  };
}

const quiet = () => ({ log: openLog(path.join(dir, 'seed.log')), redact: (t: string) => t, signal: new AbortController().signal, env: process.env });

void describe('cidata seed ISO (boot_method iso)', () => {
  void it('xorriso builds it; read back: volume id cidata, the PXE path\'s user-data, meta-data, network-config', async () => {
    const host = staticHost();
    const docs = isoSeedDocuments(host, MAC, ARM);
    // One generator: the seed's user-data is what GET /nocloud/<token>/user-data serves for this boot.
    assert.equal(docs.userData, renderUserData(host, installContext(ARM.serverUrl, ARM.token, MAC, 'web-01')));
    const iso = path.join(dir, 'web-01', 'cidata.iso');
    execFileSync('mkdir', ['-p', path.dirname(iso)]);
    const o = quiet();
    await buildSeedIso(iso, docs, o);
    o.log.end();
    assert.equal(statSync(iso).mode & 0o777, 0o600);
    assert.ok(!existsSync(`${iso}.d`), 'the staging folder is removed');

    const pvd = execFileSync('xorriso', ['-indev', iso, '-pvd_info'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.match(pvd, /^Volume Id\s*:\s*cidata\s*$/m);
    const out = path.join(dir, 'extract');
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', out], { stdio: 'ignore' });
    const read = (n: string) => readFileSync(path.join(out, n), 'utf8');
    assert.equal(read('user-data'), docs.userData);
    assert.match(read('user-data'), /^#cloud-config\nautoinstall:/);
    const ud = parseYaml11(read('user-data')) as { autoinstall: { 'late-commands': string[]; reporting: { pxed: { endpoint: string } } } };
    assert.equal(ud.autoinstall.reporting.pxed.endpoint, `${ARM.serverUrl}/api/v1/boot/${ARM.token}/events`);
    assert.ok(ud.autoinstall['late-commands'].some((c) => typeof c === 'string' && c.includes(`/api/v1/boot/${ARM.token}/events`)));
    const md = parseYaml11(read('meta-data')) as Record<string, string>;
    assert.equal(md['local-hostname'], 'web-01');
    assert.match(md['instance-id']!, /^pxed-02947c99c709-[0-9a-f]{12}$/);
    const net = parseYaml11(read('network-config')) as { version: number; ethernets: Record<string, { addresses: string[]; match: { macaddress: string } }> };
    assert.equal(net.version, 2);
    const eth = Object.values(net.ethernets)[0]!;
    assert.deepEqual(eth.addresses, ['10.67.0.50/24']);
    assert.equal(eth.match.macaddress, host.mac, "matched by the NIC's configured MAC");
    assert.deepEqual(execFileSync('ls', [out], { encoding: 'utf8' }).trim().split('\n'), ['meta-data', 'network-config', 'user-data']);
  });

  void it('a DHCP host gets no network-config; a missing xorriso is a clear ORCH_SEED error', async () => {
    const docs = isoSeedDocuments({ ...webHost(), boot_method: 'iso' }, MAC, ARM);
    assert.equal(docs.networkConfig, null);
    await assert.rejects(buildSeedIso(path.join(dir, 'x.iso'), docs, { ...quiet(), xorriso: path.join(dir, 'no-such-xorriso') }), (e: unknown) => isPxedError(e, 'ORCH_SEED'));
  });
});

void describe('cloud-config snippet (boot_method image)', () => {
  void it('every user created by cloud-init, host name, packages, phone-home with the token; no autoinstall', () => {
    const h = webHost();
    const host: HostSpec = { ...h, boot_method: 'image', install: { ...h.install, users: [{ username: 'admin', sudo: true, shell: '/bin/bash', password_hash: '$6$salt$hash', ssh_authorized_keys: [] }, ...h.install.users] } };
    const docs = imageSeedDocuments(host, MAC, ARM);
    const cc = parseYaml11(docs.userData) as Record<string, unknown>;
    assert.ok(docs.userData.startsWith('#cloud-config\n'));
    assert.equal(cc.autoinstall, undefined);
    assert.equal(cc.hostname, 'web-01');
    assert.equal(cc.fqdn, 'web-01.lab.local');
    assert.deepEqual((cc.users as Array<{ name: string }>).map((u) => u.name), ['admin', 'devops'], 'the identity user too: no Subiquity creates it');
    assert.deepEqual(cc.packages, ['jq']);
    const runcmd = cc.runcmd as string[][];
    assert.ok(runcmd.at(-1)!.join(' ').includes(`${ARM.serverUrl}/api/v1/boot/${ARM.token}/events`));
    assert.equal(docs.networkConfig, null);
  });

  void it('hostile input: NixOS hosts and bad server URLs or tokens are refused, nothing rendered', () => {
    assert.throws(() => isoSeedDocuments({ ...hostSpec('nix-01', 'nixos'), boot_method: 'iso' }, MAC, ARM), /boot_method iso needs cloud-init/);
    assert.throws(() => isoSeedDocuments(staticHost(), MAC, { ...ARM, serverUrl: 'http://x;rm -rf /' }), (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID'));
    assert.throws(() => imageSeedDocuments(staticHost(), MAC, { ...ARM, token: 'a b' }), (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID'));
    assert.throws(() => imageSeedDocuments(staticHost(), '02:94:7C:99:C7:09', ARM), (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID'));
  });
});
