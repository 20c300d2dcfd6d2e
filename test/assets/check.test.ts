// A catalog that points at pxed itself (asset-relative entries and a URL under pxed's own /assets/), and what
// `pxed config check` and `pxed render` say before and after `pxed assets fetch`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeLab, pxed, sha256, SERVER, writeConfig, type Lab } from './lab.js';
import { startServer, type TestServer } from './server.js';

let lab: Lab;
let srv: TestServer;
let flags: string[];

before(async () => {
  lab = makeLab('pxed-assets-check-');
  srv = await startServer({
    '/mirror/ubuntu.iso': { kind: 'file', body: lab.iso },
    '/mirror/netboot.ipxe': { kind: 'file', body: lab.netboot },
    '/mirror/bzImage': { kind: 'file', body: lab.nixKernel },
  });
  flags = writeConfig(lab, {
    ubuntu: {
      '24.04': {
        iso_url: 'ubuntu/24.04/ubuntu.iso',
        source: { iso: srv.url('/mirror/ubuntu.iso') },
        sha256: { iso: sha256(lab.iso) },
      },
    },
    nixos: {
      '25.05': {
        // A URL under pxed's own address counts as asset-relative.
        kernel_url: `http://${SERVER}:8080/assets/nixos/25.05/bzImage`,
        // Not fetchable here (404): an http(s) entry the boot loads from elsewhere is not checked offline.
        initrd_url: srv.url('/mirror/no-such-initrd'),
        netboot_ipxe_url: 'nixos/25.05/netboot.ipxe',
        source: { kernel: srv.url('/mirror/bzImage'), netboot_ipxe: srv.url('/mirror/netboot.ipxe') },
        sha256: { kernel: sha256(lab.nixKernel), netboot_ipxe: sha256(lab.netboot) },
      },
    },
  });
});
after(async () => {
  await srv.close();
  rmSync(lab.dir, { recursive: true, force: true });
});

const check = (...extra: string[]) => pxed(lab, ['config', 'check', '--daemon-config', 'pxed.yaml', ...extra]);

void test('before fetching: every missing asset is an error naming the command that fetches it (exit 1)', async () => {
  const r = await check();
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  for (const [host, rel, name] of [
    ['alpha', 'ubuntu/24.04/casper/vmlinuz', 'ubuntu/24.04/kernel'],
    ['alpha', 'ubuntu/24.04/casper/initrd', 'ubuntu/24.04/initrd'],
    ['alpha', 'ubuntu/24.04/ubuntu.iso', 'ubuntu/24.04/iso'],
    ['beta', 'nixos/25.05/netboot.ipxe', 'nixos/25.05/netboot.ipxe'],
  ] as const) {
    const i = lines.findIndex((l) => l.startsWith(`${host}: error: asset ${rel} is missing: not in ${path.join(lab.dir, 'assets')}`));
    assert.ok(i >= 0, `${rel}:\n${r.stdout}`);
    assert.equal(lines[i + 1], `  fix: pxed assets fetch ${name}`);
  }
  assert.equal(lines.at(-1), '2 hosts valid; 2 cannot boot (4 errors); daemon config OK');
  const json = await check('--json');
  const out = JSON.parse(json.stdout) as { ok: boolean; boot: Array<{ host: string; severity: string; fix: string }> };
  assert.equal(out.ok, false);
  assert.equal(out.boot.length, 4);

  // pxed render prints the script (url= under pxed's own address) and names what is missing on stderr.
  const ipxe = await pxed(lab, ['render', 'alpha', 'ipxe', '--daemon-config', 'pxed.yaml']);
  assert.equal(ipxe.code, 0, ipxe.stderr);
  assert.match(ipxe.stdout, new RegExp(`url=http://${SERVER.replace(/\./g, '\\.')}:8080/assets/ubuntu/24\\.04/ubuntu\\.iso `));
  assert.match(ipxe.stdout, /kernel http:\/\/192\.0\.2\.2:8080\/assets\/ubuntu\/24\.04\/casper\/vmlinuz /);
  assert.match(ipxe.stderr, /^pxed render: error: asset ubuntu\/24\.04\/casper\/vmlinuz is missing: .*; fix: pxed assets fetch ubuntu\/24\.04\/kernel$/m);
  const nix = await pxed(lab, ['render', 'beta', 'ipxe', '--daemon-config', 'pxed.yaml']);
  assert.equal(nix.code, 1);
  assert.match(nix.stderr, /run `pxed assets fetch nixos\/25\.05\/netboot\.ipxe`/);
});

void test('after fetching: OK; a file changed since verification is a warning with the fix', async () => {
  const f = await pxed(lab, ['assets', 'fetch', ...flags]);
  assert.match(f.stdout, /^FAIL nixos\/25\.05\/initrd: ASSET_DOWNLOAD: .*HTTP 404$/m);
  assert.match(f.stdout, /^ok {3}nixos\/25\.05\/kernel: fetched, SHA-256 verified$/m);
  assert.match(f.stdout, /^ok {3}ubuntu\/24\.04\/kernel: extracted from ubuntu\/24\.04\/ubuntu\.iso, verified$/m);
  const r = await check();
  assert.equal(r.code, 0, r.stdout);
  assert.equal(r.stdout.trimEnd().split('\n').at(-1), '2 hosts OK; daemon config OK');

  const record = path.join(lab.root, 'nixos/25.05/bzImage.sha256');
  const earlier = new Date(Date.now() - 60_000);
  utimesSync(record, earlier, earlier);
  const w = await check();
  assert.equal(w.code, 0, w.stdout);
  assert.match(w.stdout, /^beta: warning: asset nixos\/25\.05\/bzImage is not verified: no checksum record \(or the file changed since it was verified\)\n {2}fix: pxed assets fetch nixos\/25\.05\/kernel$/m);
  assert.equal(w.stdout.trimEnd().split('\n').at(-1), '2 hosts OK; daemon config OK; 1 warning');
  const again = await pxed(lab, ['assets', 'fetch', 'nixos/25.05/kernel', ...flags]);
  assert.match(again.stdout, /present, verified now/);
  assert.equal((await check()).stdout.trimEnd().split('\n').at(-1), '2 hosts OK; daemon config OK');
});

void test('os custom: a missing kernel from the asset roots is an error (no fetch command to offer); a present initrd is fine', async () => {
  writeFileSync(
    path.join(lab.dir, 'install_config.yaml'),
    JSON.stringify({
      installs: {
        alpha: { os: 'custom', custom: { kernel: 'custom/vmlinuz', initrds: [`http://${SERVER}:8080/assets/custom/initrd.img`], cmdline: 'console=ttyS0' } },
        beta: { os: 'nixos', version: '25.05' },
      },
    }),
  );
  mkdirSync(path.join(lab.root, 'custom'), { recursive: true });
  writeFileSync(path.join(lab.root, 'custom', 'initrd.img'), 'i');
  const r = await check();
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /^alpha: error: asset custom\/vmlinuz is missing: not in .*\n {2}fix: copy the file to <asset root>\/custom\/vmlinuz$/m);
  assert.doesNotMatch(r.stdout, /initrd\.img/, 'present, and nothing describes its checksum');
});
