// `pxed assets list | fetch | verify` end to end: an HTTP server on 127.0.0.1, an ISO built with xorriso, resume
// after an interruption, SHA256SUMS, extraction of casper/vmlinuz and casper/initrd, a corrupt download, verify.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeLab, pxed, sha256, writeConfig, type Lab } from './lab.js';
import { startServer, type TestServer } from './server.js';

let lab: Lab;
let srv: TestServer;
let flags: string[];
const ISO_PATH = '/releases/24.04/ubuntu-24.04-live-server-amd64.iso';

before(async () => {
  lab = makeLab('pxed-assets-');
  srv = await startServer({
    // The first ISO request is cut after 100 000 bytes.
    [ISO_PATH]: { kind: 'interrupt', body: lab.iso, after: 100_000, times: 1 },
    '/releases/24.04/SHA256SUMS': { kind: 'file', body: Buffer.from(`${sha256(lab.iso)} *ubuntu-24.04-live-server-amd64.iso\n${'0'.repeat(64)} *other.iso\n`) },
    '/nixos/bzImage-x86_64-linux': { kind: 'file', body: lab.nixKernel },
    '/nixos/initrd-x86_64-linux': { kind: 'file', body: lab.nixInitrd },
    '/nixos/netboot-x86_64-linux.ipxe': { kind: 'file', body: lab.netboot },
  });
  flags = writeConfig(lab, {
    // Only the ISO: kernel and initrd come out of it.
    ubuntu: { '24.04': { iso_url: srv.url(ISO_PATH), sha256sums_url: srv.url('/releases/24.04/SHA256SUMS') } },
    nixos: {
      '25.05': {
        kernel_url: srv.url('/nixos/bzImage-x86_64-linux'),
        initrd_url: srv.url('/nixos/initrd-x86_64-linux'),
        netboot_ipxe_url: srv.url('/nixos/netboot-x86_64-linux.ipxe'),
        sha256: { netboot_ipxe: sha256(lab.netboot) },
      },
    },
  });
});
after(async () => {
  await srv.close();
  rmSync(lab.dir, { recursive: true, force: true });
});

const file = (rel: string): string => path.join(lab.root, rel);
const partsLeft = (): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.part') || e.name.endsWith('.tmp')) out.push(path.join(d, e.name));
    }
  };
  walk(lab.root);
  return out;
};

void test('list, interrupted fetch, resumed fetch with verification and ISO extraction, list again', async () => {
  const l0 = await pxed(lab, ['assets', 'list', ...flags]);
  assert.equal(l0.code, 0, l0.stderr);
  const rows = l0.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/));
  assert.deepEqual(
    rows.map((r) => [r[0], r[1], r[2]]),
    [
      ['ubuntu/24.04/iso', 'missing', 'ubuntu/24.04/ubuntu-24.04-live-server-amd64.iso'],
      ['ubuntu/24.04/kernel', 'missing', 'ubuntu/24.04/casper/vmlinuz'],
      ['ubuntu/24.04/initrd', 'missing', 'ubuntu/24.04/casper/initrd'],
      ['nixos/25.05/kernel', 'missing', 'nixos/25.05/bzImage-x86_64-linux'],
      ['nixos/25.05/initrd', 'missing', 'nixos/25.05/initrd-x86_64-linux'],
      ['nixos/25.05/netboot.ipxe', 'missing', 'nixos/25.05/netboot.ipxe'],
    ],
  );
  assert.equal(rows[1]![3], 'ubuntu/24.04/iso:/casper/vmlinuz');

  // Interrupted: the ISO stays a .part, nothing is in place, and the extracted files say why they failed.
  const f1 = await pxed(lab, ['assets', 'fetch', 'ubuntu/24.04', ...flags]);
  assert.equal(f1.code, 1);
  assert.match(f1.stdout, /^FAIL ubuntu\/24\.04\/iso: ASSET_DOWNLOAD: .*run again to resume$/m);
  assert.match(f1.stdout, /^FAIL ubuntu\/24\.04\/kernel: .*extracted from the ISO, which is missing \(pxed assets fetch ubuntu\/24\.04\/iso\)$/m);
  const iso = file('ubuntu/24.04/ubuntu-24.04-live-server-amd64.iso');
  assert.equal(existsSync(iso), false);
  const kept = statSync(`${iso}.part`).size;
  assert.ok(kept > 0 && kept < lab.iso.length);

  // Resumed with Range; SHA256SUMS verifies the ISO; vmlinuz and initrd come out of it; NixOS files fetched.
  const f2 = await pxed(lab, ['assets', 'fetch', ...flags]);
  assert.equal(f2.code, 0, f2.stdout + f2.stderr);
  assert.match(f2.stderr, new RegExp(`ubuntu/24.04/iso: from .* \\(resuming at byte ${kept}\\)`));
  assert.equal(srv.requests.filter((r) => r.path === ISO_PATH).at(-1)!.range, `bytes=${kept}-`);
  assert.match(f2.stdout, /^ok {3}ubuntu\/24\.04\/iso: fetched, SHA-256 verified$/m);
  assert.match(f2.stdout, /^ok {3}ubuntu\/24\.04\/kernel: extracted from ubuntu\/24\.04\/ubuntu-24\.04-live-server-amd64\.iso, verified$/m);
  assert.match(f2.stdout, /^ok {3}nixos\/25\.05\/kernel: fetched, not verified: no checksum in the catalog/m);
  assert.match(f2.stdout, /^ok {3}nixos\/25\.05\/netboot\.ipxe: fetched, SHA-256 verified$/m);
  assert.ok(readFileSync(iso).equals(lab.iso));
  assert.ok(readFileSync(file('ubuntu/24.04/casper/vmlinuz')).equals(lab.kernel));
  assert.ok(readFileSync(file('ubuntu/24.04/casper/initrd')).equals(lab.initrd));
  assert.ok(readFileSync(file('nixos/25.05/bzImage-x86_64-linux')).equals(lab.nixKernel));
  assert.equal(readFileSync(`${iso}.sha256`, 'utf8'), `${sha256(lab.iso)}  ubuntu-24.04-live-server-amd64.iso\n`);
  assert.equal(existsSync(file('nixos/25.05/bzImage-x86_64-linux.sha256')), false, 'no record for an unverified file');
  assert.deepEqual(partsLeft(), []);
  assert.equal(statSync(file('ubuntu/24.04/casper/vmlinuz')).mode & 0o777, 0o644);

  const l1 = await pxed(lab, ['assets', 'list', ...flags, '--json']);
  const states = (JSON.parse(l1.stdout) as { assets: Array<{ name: string; state: string }> }).assets.map((a) => `${a.name}=${a.state}`);
  assert.deepEqual(states, [
    'ubuntu/24.04/iso=verified',
    'ubuntu/24.04/kernel=verified',
    'ubuntu/24.04/initrd=verified',
    'nixos/25.05/kernel=unverified',
    'nixos/25.05/initrd=unverified',
    'nixos/25.05/netboot.ipxe=verified',
  ]);

  // Again: nothing to do, nothing downloaded.
  const before = srv.requests.length;
  const f3 = await pxed(lab, ['assets', 'fetch', 'ubuntu', 'nixos/25.05/netboot.ipxe', ...flags]);
  assert.equal(f3.code, 0, f3.stdout);
  assert.match(f3.stdout, /^ok {3}ubuntu\/24\.04\/iso: present, verified$/m);
  assert.deepEqual(srv.requests.slice(before).filter((r) => !r.path.endsWith('/SHA256SUMS')), []);
});

void test('verify re-hashes; a changed file is a mismatch, and fetch replaces it', async () => {
  const v1 = await pxed(lab, ['assets', 'verify', ...flags]);
  assert.equal(v1.code, 0, v1.stdout);
  assert.match(v1.stdout, /^verified {3}ubuntu\/24\.04\/kernel: /m);
  assert.match(v1.stdout, /^unverified nixos\/25\.05\/kernel: .*no checksum known/m);
  const vmlinuz = file('ubuntu/24.04/casper/vmlinuz');
  appendFileSync(vmlinuz, 'x');
  const old = new Date(Date.now() - 60_000);
  utimesSync(vmlinuz, old, old); // as old as the record: only hashing finds it
  const v2 = await pxed(lab, ['assets', 'verify', 'ubuntu/24.04/kernel', ...flags]);
  assert.equal(v2.code, 1);
  assert.match(v2.stdout, /^mismatch {3}ubuntu\/24\.04\/kernel: .* is not the expected [0-9a-f]{64}; pxed assets fetch ubuntu\/24\.04\/kernel replaces it$/m);
  assert.equal(existsSync(`${vmlinuz}.sha256`), false);
  const f = await pxed(lab, ['assets', 'fetch', 'ubuntu/24.04/kernel', ...flags]);
  assert.equal(f.code, 0, f.stdout);
  assert.ok(readFileSync(vmlinuz).equals(lab.kernel));
});

void test('a corrupt download is rejected: nothing stays, a previous file is untouched', async () => {
  const netboot = file('nixos/25.05/netboot.ipxe');
  writeFileSync(netboot, 'previous\n');
  srv.routes.set('/nixos/netboot-x86_64-linux.ipxe', { kind: 'file', body: Buffer.from('#!ipxe\nkernel evil\n') });
  const r = await pxed(lab, ['assets', 'fetch', 'nixos/25.05/netboot.ipxe', ...flags]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL nixos\/25\.05\/netboot\.ipxe: ASSET_CHECKSUM: .* is not the expected [0-9a-f]{64}; the download was discarded$/m);
  assert.equal(readFileSync(netboot, 'utf8'), 'previous\n');
  assert.deepEqual(partsLeft(), []);
  rmSync(netboot);
  const r2 = await pxed(lab, ['assets', 'fetch', 'nixos/25.05/netboot.ipxe', ...flags]);
  assert.equal(r2.code, 1);
  assert.equal(existsSync(netboot), false);
  assert.deepEqual(partsLeft(), []);
  srv.routes.set('/nixos/netboot-x86_64-linux.ipxe', { kind: 'file', body: lab.netboot });
});

void test('progress: redrawn on a terminal, plain lines otherwise', async () => {
  rmSync(file('nixos/25.05/initrd-x86_64-linux'));
  const tty = await pxed(lab, ['assets', 'fetch', 'nixos/25.05/initrd', ...flags], true);
  assert.equal(tty.code, 0, tty.stdout);
  assert.match(tty.stderr, /\r\x1b\[2Knixos\/25\.05\/initrd \[#+\] 48\.8 KiB \/ 48\.8 KiB {2}100% {2}\S+ \S+\/s/);
  rmSync(file('nixos/25.05/initrd-x86_64-linux'));
  const plain = await pxed(lab, ['assets', 'fetch', 'nixos/25.05/initrd', ...flags]);
  assert.doesNotMatch(plain.stderr, /\r|\x1b/);
  assert.match(plain.stderr, /^nixos\/25\.05\/initrd: 48\.8 KiB \/ 48\.8 KiB {2}100% {2}/m);
});

void test('hostile catalog entries and names fail cleanly', async () => {
  const bad = await pxed(lab, ['assets', 'fetch', 'ubuntu/99.99', ...flags]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no asset "ubuntu\/99\.99"; expected one of ubuntu\/24\.04\/iso, /);
  const ubuntu = { '24.04': { iso_url: 'ubuntu/24.04/x.iso' } };
  for (const ref of ['../../etc/passwd', '/etc/passwd', '.hidden/x', 'a/../b']) {
    writeConfig(lab, { ubuntu, nixos: { '25.05': { kernel_url: ref, initrd_url: 'x', netboot_ipxe_url: 'y' } } });
    const r = await pxed(lab, ['assets', 'list', ...flags]);
    assert.equal(r.code, 2, ref);
    assert.match(r.stderr, /kernel_url: expected an http\(s\):\/\/ URL or a path relative to the asset roots/, ref);
  }
  writeConfig(lab, { ubuntu, nixos: { '25.05': { kernel_url: srv.url('/x/..%2F..%2Fevil'), initrd_url: 'x', netboot_ipxe_url: 'y' } } });
  const r = await pxed(lab, ['assets', 'fetch', ...flags]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ASSET_INVALID: .*does not end in a usable file name/);
  assert.equal(existsSync(path.join(lab.dir, 'evil')), false);
});
