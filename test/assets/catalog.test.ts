// The catalog as named assets (layout, sources, selection), SHA256SUMS lookups, ISO extraction of hostile images,
// and the doctor's per-asset checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { catalogAssets, localRef, selectAssets, urlFileName } from '../../src/assets/catalog.js';
import { assetChecks } from '../../src/assets/doctor.js';
import { extractFromIso } from '../../src/assets/iso.js';
import { assetFile } from '../../src/assets/status.js';
import { lookupSha256, parseSha256Sums, writeRecord } from '../../src/assets/verify.js';
import { imageCatalogSchema } from '../../src/config/catalog-schema.js';
import { parseProvisioning } from '../../src/config/load.js';
import { isoUrl } from '../../src/config/original.js';
import { isPxedError } from '../../src/errors.js';
import { makeLab } from './lab.js';

const HEX = 'a'.repeat(64);
const images = imageCatalogSchema.parse({
  ubuntu: {
    '24.04': { iso_url: 'http://mirror.example/24.04/u.iso', kernel_url: 'http://mirror.example/24.04/netboot/amd64/linux', initrd_url: 'ubuntu/24.04/initrd' },
    '22.04': { iso_url: 'ubuntu/22.04/u.iso', source: { iso: 'http://mirror.example/22.04/u.iso' }, sha256: { iso: HEX.toUpperCase() } },
  },
  nixos: {
    '25.05': { kernel_url: 'http://192.0.2.2:8080/assets/nixos/k', initrd_url: 'http://x.example/i', netboot_ipxe_url: 'http://x.example/n.ipxe' },
  },
});

void test('catalog assets: paths, sources, served-by-pxed, checksums', () => {
  const all = catalogAssets(images, ['http://192.0.2.2:8080']);
  const by = new Map(all.map((a) => [a.name, a]));
  assert.deepEqual([...by.keys()], [
    'ubuntu/24.04/iso', 'ubuntu/24.04/kernel', 'ubuntu/24.04/initrd',
    'ubuntu/22.04/iso', 'ubuntu/22.04/kernel', 'ubuntu/22.04/initrd',
    'nixos/25.05/kernel', 'nixos/25.05/initrd', 'nixos/25.05/netboot.ipxe',
  ]);
  assert.deepEqual(by.get('ubuntu/24.04/kernel'), {
    name: 'ubuntu/24.04/kernel', os: 'ubuntu', version: '24.04', role: 'kernel', path: 'ubuntu/24.04/linux', servedByPxed: false,
    source: { kind: 'url', url: 'http://mirror.example/24.04/netboot/amd64/linux' }, sha256: null, sha256sumsUrl: null,
  });
  // Asset-relative without a source: the ISO's casper file.
  assert.deepEqual(by.get('ubuntu/24.04/initrd')!.source, { kind: 'iso', iso: 'ubuntu/24.04/iso', member: 'casper/initrd' });
  assert.equal(by.get('ubuntu/22.04/kernel')!.path, 'ubuntu/22.04/casper/vmlinuz');
  assert.equal(by.get('ubuntu/22.04/iso')!.sha256, HEX, 'lower-cased');
  assert.deepEqual(by.get('ubuntu/22.04/iso')!.source, { kind: 'url', url: 'http://mirror.example/22.04/u.iso' });
  // A URL under pxed's own address is asset-relative; nothing says where to get it.
  assert.deepEqual([by.get('nixos/25.05/kernel')!.path, by.get('nixos/25.05/kernel')!.servedByPxed, by.get('nixos/25.05/kernel')!.source.kind], ['nixos/k', true, 'none']);
  assert.equal(by.get('nixos/25.05/netboot.ipxe')!.path, 'nixos/25.05/netboot.ipxe');
  assert.equal(by.get('nixos/25.05/netboot.ipxe')!.servedByPxed, true);

  assert.deepEqual(selectAssets(all, ['ubuntu/24.04/kernel']).map((a) => a.name), ['ubuntu/24.04/kernel']);
  assert.deepEqual(selectAssets(all, ['ubuntu/24.04/initrd']).map((a) => a.name), ['ubuntu/24.04/iso', 'ubuntu/24.04/initrd'], 'the ISO comes along');
  assert.equal(selectAssets(all, ['nixos/']).length, 3);
  assert.throws(() => selectAssets(all, ['ubuntu/24']), (e: unknown) => isPxedError(e, 'ASSET_UNKNOWN'));
});

void test('hostile names never leave the asset root', () => {
  for (const url of ['http://h/', 'http://h/a/..', 'http://h/%2e%2e', 'http://h/x/..%2Fetc%2Fpasswd', 'http://h/.hidden', 'http://h/a%00b']) {
    assert.throws(() => urlFileName(url), (e: unknown) => isPxedError(e, 'ASSET_INVALID'), url);
  }
  assert.equal(urlFileName('http://h/a/b/linux?x=1'), 'linux');
  assert.equal(localRef('http://192.0.2.2:8080/assets/a/%2e%2e/b', ['http://192.0.2.2:8080']), null);
  assert.equal(localRef('http://192.0.2.2:8080/assets/a/b', ['http://192.0.2.2:8080/']), 'a/b');
  assert.equal(localRef('http://192.0.2.3:8080/assets/a/b', ['http://192.0.2.2:8080']), null);
  for (const rel of ['../x', 'a/../../x', '/etc/passwd', '.x', 'a//b', '']) {
    assert.throws(() => assetFile('/srv/assets', rel), (e: unknown) => isPxedError(e, 'ASSET_INVALID'), rel);
  }
  for (const bad of ['../x', '/abs', 'a/./b', 'a b', 'ftp://x/y']) {
    assert.equal(imageCatalogSchema.safeParse({ nixos: { '1': { kernel_url: bad, initrd_url: 'i', netboot_ipxe_url: 'n' } } }).success, false, bad);
  }
});

void test('SHA256SUMS: parsed by name, looked up by the URL tail (longest name wins)', () => {
  const sums = parseSha256Sums(`${'1'.repeat(64)} *ubuntu.iso\n${'2'.repeat(64)}  ./amd64/linux\n${'3'.repeat(64)}  linux\nnot a line\n${'F'.repeat(64)}  initrd\n`);
  assert.equal(sums.size, 4);
  assert.equal(lookupSha256(sums, 'http://h/24.04/ubuntu.iso'), '1'.repeat(64));
  assert.equal(lookupSha256(sums, 'http://h/24.04/netboot/amd64/linux'), '2'.repeat(64));
  assert.equal(lookupSha256(sums, 'http://h/other/linux'), '3'.repeat(64));
  assert.equal(lookupSha256(sums, 'http://h/initrd'), 'f'.repeat(64));
  assert.equal(lookupSha256(sums, 'http://h/xlinux'), null);
});

void test('ISO extraction: a member that is missing or a symlink in the image is refused, nothing left behind', async () => {
  const lab = makeLab('pxed-iso-');
  try {
    const src = path.join(lab.dir, 'hostile');
    mkdirSync(path.join(src, 'casper'), { recursive: true });
    symlinkSync('/etc/passwd', path.join(src, 'casper', 'vmlinuz'));
    writeFileSync(path.join(src, 'casper', 'initrd'), 'x'.repeat(2000));
    const iso = path.join(lab.dir, 'hostile.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-o', iso, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    const dest = path.join(lab.dir, 'out.part');
    const extractErr = (re: RegExp) => (e: unknown) => isPxedError(e, 'ASSET_EXTRACT') && re.test(e.message);
    await assert.rejects(extractFromIso(iso, 'casper/vmlinuz', dest, 1e6), extractErr(/is not a regular file/));
    assert.equal(existsSync(dest), false);
    await assert.rejects(extractFromIso(iso, 'casper/nothing', dest, 1e6), extractErr(/cannot extract \/casper\/nothing/));
    assert.equal(existsSync(dest), false);
    await assert.rejects(extractFromIso(iso, 'casper/initrd', dest, 100), extractErr(/2000 bytes, more than 100/));
    assert.equal(existsSync(dest), false);
    await assert.rejects(extractFromIso(iso, '../etc/passwd', dest, 1e6), extractErr(/bad ISO member/));
    await extractFromIso(iso, 'casper/initrd', dest, 1e6);
    assert.equal(readFileSync(dest, 'utf8'), 'x'.repeat(2000));
  } finally {
    rmSync(lab.dir, { recursive: true, force: true });
  }
});

void test('doctor asset checks: missing fails with the fetch command, unverified warns, verified is ok', async () => {
  const lab = makeLab('pxed-doctor-assets-');
  try {
    const cat = imageCatalogSchema.parse({
      nixos: { '25.05': { kernel_url: 'nixos/25.05/bzImage', initrd_url: 'nixos/25.05/initrd', netboot_ipxe_url: 'http://h/netboot.ipxe', source: { kernel: 'http://h/k' } } },
    });
    const dir = path.join(lab.root, 'nixos', '25.05');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'initrd'), 'i');
    writeFileSync(path.join(dir, 'netboot.ipxe'), 'n');
    await writeRecord(path.join(dir, 'netboot.ipxe'), 'b'.repeat(64));
    const checks = await assetChecks(cat, [lab.root]);
    assert.deepEqual(checks, [
      { id: 'asset:nixos/25.05/kernel', status: 'fail', summary: `asset nixos/25.05/bzImage is missing: not in ${lab.root}`, fix: 'pxed assets fetch nixos/25.05/kernel' },
      {
        id: 'asset:nixos/25.05/initrd',
        status: 'warn',
        summary: 'asset nixos/25.05/initrd is not verified: no checksum record (or the file changed since it was verified)',
        fix: 'pxed assets fetch nixos/25.05/initrd',
      },
      { id: 'asset:nixos/25.05/netboot.ipxe', status: 'ok', summary: 'nixos/25.05/netboot.ipxe is present and verified' },
    ]);
  } finally {
    rmSync(lab.dir, { recursive: true, force: true });
  }
});

void test('a boot_method iso VM gets an absolute ISO URL for an asset-relative catalog entry', () => {
  const texts = (http: string) => ({
    defaults: ['d.yaml', `images:\n  ubuntu:\n    "24.04":\n      iso_url: ubuntu/24.04/u.iso\n      source: {iso: "http://m.example/u.iso"}\nvm: {proxmox: {node: pve1}}\n${http}`] as [string, string],
    vmSpecs: ['v.yaml', 'vms:\n  - {name: a, boot_method: iso}\n'] as [string, string],
    installConfig: ['i.yaml', 'installs:\n  a: {os: ubuntu, version: "24.04"}\n'] as [string, string],
  });
  const viaSource = parseProvisioning(texts(''));
  assert.equal(isoUrl(viaSource.defaults, viaSource.hosts[0]!), 'http://m.example/u.iso');
  const viaPublic = parseProvisioning(texts('http: {public_url: "http://pxe.example:8080/"}\n'));
  assert.equal(isoUrl(viaPublic.defaults, viaPublic.hosts[0]!), 'http://pxe.example:8080/assets/ubuntu/24.04/u.iso');
});
