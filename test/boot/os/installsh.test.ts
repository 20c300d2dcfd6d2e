// Runs the rendered install.sh end to end against stub tools (test/fixtures/os/stubs/stub): PATH holds only the
// stubs and a few harmless real tools, so no real disk, mount or network is ever touched. Checks the steps, the
// partition names, the files written for configuration.nix and the phone-home bodies on success and failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostSpec } from '../../../src/config/provisioning.js';
import { createNixosProfile, loadNixosTemplates } from '../../../src/boot/os/index.js';
import { fixtures } from '../../helpers/paths.js';
import { SERVER_URL, TOKEN, ctxFor, exampleProvisioning, variant } from './helpers.js';

const STUBBED = [
  'lsblk', 'swapoff', 'vgchange', 'wipefs', 'parted', 'udevadm', 'mkfs.fat', 'mkfs.ext4', 'pvcreate', 'vgcreate', 'lvcreate',
  'mkswap', 'mount', 'swapon', 'nixos-generate-config', 'curl', 'nixos-install', 'sync', 'reboot',
];
const REAL = ['awk', 'sort', 'tail', 'cut', 'cat', 'mkdir', 'sleep'];
const EFI = existsSync('/sys/firmware/efi');

interface Run {
  status: number | null;
  calls: string[];
  posts: Array<Record<string, string>>;
  root: string;
  files: Record<string, string>;
}

function runInstall(host: HostSpec, fail?: string): Run {
  const p = createNixosProfile({ netboot: new Map(), templates: loadNixosTemplates() });
  const script = String(p.renderArtifact('nixos', 'install.sh', host, ctxFor(host))!.body);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-installsh-'));
  try {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    for (const c of STUBBED) symlinkSync(fixtures('os', 'stubs', 'stub'), path.join(bin, c));
    for (const c of REAL) {
      const real = ['/usr/bin', '/bin'].map((d) => path.join(d, c)).find((f) => existsSync(f));
      assert.ok(real, c);
      symlinkSync(real, path.join(bin, c));
    }
    const root = path.join(dir, 'mnt');
    mkdirSync(root);
    writeFileSync(path.join(dir, 'install.sh'), script);
    const env: Record<string, string> = { PATH: bin, PXED_ROOT: root, STUB_LOG: path.join(dir, 'calls'), STUB_POSTS: path.join(dir, 'posts') };
    if (fail !== undefined) env.STUB_FAIL = fail;
    const r = spawnSync('/bin/sh', [path.join(dir, 'install.sh')], { env, encoding: 'utf8', timeout: 20_000 });
    const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    const files: Record<string, string> = {};
    for (const f of ['configuration.nix', 'host.json', 'pxed-install.json']) files[f] = read(path.join(root, 'etc', 'nixos', f));
    const calls = read(env.STUB_LOG!).split('\n').filter((l) => l.length > 0).map((l) => l.replaceAll(root, '<root>').trimEnd());
    const posts = read(env.STUB_POSTS!).split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, string>);
    return { status: r.status, calls, posts, root, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const BASE = `${SERVER_URL}/nixos/${TOKEN}/`;

void test('success: partition, format, mount, generate, fetch, nixos-install, phone home, reboot', async () => {
  const ci = (await exampleProvisioning()).hostByName('ci-runner-01')!;
  const r = runInstall(ci);
  assert.equal(r.status, 0, r.calls.join('\n'));
  const cmds = r.calls.filter((c) => !c.startsWith('lsblk') && !c.startsWith('curl -fsS --retry 3'));
  assert.deepEqual(cmds, [
    'swapoff -a',
    'vgchange -an',
    'wipefs -af /dev/vda1',
    'wipefs -af /dev/vda',
    'parted -s /dev/vda -- mklabel gpt',
    EFI ? 'parted -s /dev/vda -- mkpart ESP fat32 1MiB 513MiB set 1 esp on' : 'parted -s /dev/vda -- mkpart bios 1MiB 513MiB set 1 bios_grub on',
    'parted -s /dev/vda -- mkpart root 513MiB 100%',
    'udevadm settle',
    ...(EFI ? ['mkfs.fat -F 32 -n BOOT /dev/vda1'] : []),
    'mkfs.ext4 -F -L nixos /dev/vda2',
    'mount /dev/vda2 <root>',
    ...(EFI ? ['mount -o umask=0077 /dev/vda1 <root>/boot'] : []),
    'nixos-generate-config --root <root>',
    `curl -fsS --retry 5 --max-time 60 -o <root>/etc/nixos/configuration.nix ${BASE}configuration.nix`,
    `curl -fsS --retry 5 --max-time 60 -o <root>/etc/nixos/host.json ${BASE}host.json`,
    'nixos-install --root <root> --no-root-passwd',
    'sync',
    'reboot',
  ]);
  assert.equal(r.files['configuration.nix'], `fetched ${BASE}configuration.nix\n`);
  assert.deepEqual(JSON.parse(r.files['pxed-install.json']!), { efi: EFI, disk: '/dev/vda' });
  assert.deepEqual(r.posts, [{ status: 'installed', detail: 'nixos-install done' }]);
  assert.ok(r.calls.some((c) => c.startsWith(`curl -fsS --retry 3 --max-time 20 -X POST -H Content-Type: application/json --data`) && c.endsWith(`${SERVER_URL}/api/v1/boot/${TOKEN}/events`)));
});

void test('no disk given: the largest fixed disk (zram, removable, loop, rom skipped); LVM with swap; nvme naming', async () => {
  const ci = (await exampleProvisioning()).hostByName('ci-runner-01')!;
  const lvm = runInstall(variant(ci, (h) => (h.install.partitioning = { layout: 'lvm', disk: null, swap_mb: 4096 })));
  assert.equal(lvm.status, 0, lvm.calls.join('\n'));
  for (const c of ['pvcreate -ff -y /dev/vda2', 'vgcreate pxed /dev/vda2', 'lvcreate -y -L 4096M -n swap pxed', 'lvcreate -y -l 100%FREE -n root pxed', 'mkfs.ext4 -F -L nixos /dev/pxed/root', 'mkswap -L swap /dev/pxed/swap', 'swapon /dev/pxed/swap', 'mount /dev/pxed/root <root>']) {
    assert.ok(lvm.calls.includes(c), `${c}\n${lvm.calls.join('\n')}`);
  }
  const nvme = runInstall(variant(ci, (h) => (h.install.partitioning = { layout: 'direct', disk: '/dev/nvme0n1', swap_mb: 2048 })));
  assert.equal(nvme.status, 0);
  for (const c of ['parted -s /dev/nvme0n1 -- mkpart root ext4 513MiB -2048MiB', 'parted -s /dev/nvme0n1 -- mkpart swap linux-swap -2048MiB 100%', 'mkfs.ext4 -F -L nixos /dev/nvme0n1p2', 'mkswap -L swap /dev/nvme0n1p3']) {
    assert.ok(nvme.calls.includes(c), `${c}\n${nvme.calls.join('\n')}`);
  }
});

void test('failure: the failing step is phoned home, nothing after it runs, no reboot', async () => {
  const ci = (await exampleProvisioning()).hostByName('ci-runner-01')!;
  for (const [tool, step] of [['nixos-install', 'nixos-install'], ['mkfs.ext4', 'format'], ['parted', 'partition'], ['nixos-generate-config', 'generate-config']] as const) {
    const r = runInstall(ci, tool);
    assert.notEqual(r.status, 0, tool);
    assert.deepEqual(r.posts, [{ status: 'failed', detail: `step ${step} failed (exit 3)` }], tool);
    assert.equal(r.calls.includes('reboot'), false, tool);
  }
});
