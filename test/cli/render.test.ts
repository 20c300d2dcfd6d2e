// `pxed render`: offline rendering from the config files, same validation and messages as the daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { main } from '../../src/cli/cli.js';
import type { CliIO } from '../../src/cli/io.js';
import { fixtures, repoRoot } from '../helpers/paths.js';

async function pxed(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => Promise.resolve(''),
    env: {},
    cwd: repoRoot,
  };
  const code = await main(['render', ...args], io);
  return { code, stdout, stderr };
}

const ASSETS = ['--asset-root', fixtures('os', 'assets')];

void test('ipxe: the whole install script for each example host (golden)', async () => {
  for (const host of ['web-01', 'ci-runner-01', 'baremetal-01']) {
    const r = await pxed([host, 'ipxe', '--server', '192.0.2.1', '--http-port', '8080', ...ASSETS]);
    assert.equal(r.code, 0, r.stderr);
    const p = fixtures('os', 'golden', host, 'render-ipxe.txt');
    if (process.env.PXED_UPDATE_GOLDEN === '1') writeFileSync(p, r.stdout);
    assert.equal(r.stdout, readFileSync(p, 'utf8'), host);
  }
});

void test('artifacts by host name or any MAC spelling; --json carries the install boot', async () => {
  const a = await pxed(['web-01', 'user-data', '--server', '192.0.2.1']);
  assert.equal(a.code, 0, a.stderr);
  assert.ok(a.stdout.startsWith('#cloud-config\n'));
  const doc = YAML.parse(a.stdout, { version: '1.1' }) as { autoinstall: { reporting: { pxed: { endpoint: string } } } };
  assert.equal(doc.autoinstall.reporting.pxed.endpoint, 'http://192.0.2.1:8080/api/v1/boot/PREVIEW-TOKEN-NOT-LIVE/events');
  const b = await pxed(['5254.0012.3401', 'user-data', '--server', '192.0.2.1']);
  assert.equal(b.stdout, a.stdout);
  const j = await pxed(['52-54-00-12-34-02', 'ipxe', '--json', ...ASSETS]);
  assert.equal(j.code, 0, j.stderr);
  const out = JSON.parse(j.stdout) as { host: string; mac: string; install: { cmdline: string }; body: string };
  assert.equal(out.host, 'ci-runner-01');
  assert.equal(out.mac, '52:54:00:12:34:02');
  assert.match(out.install.cmdline, /systemd\.run="\/run\/current-system\/sw\/bin\/curl [^"]* http:\/\/127\.0\.0\.1:8080\/nixos\/PREVIEW-TOKEN-NOT-LIVE\/install\.sh"/);
  for (const art of ['nixos-install', 'nixos-config', 'nixos-host', 'meta-data']) {
    const host = art === 'meta-data' ? 'baremetal-01' : 'ci-runner-01';
    const r = await pxed([host, art]);
    assert.equal(r.code, 0, `${art}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0);
  }
});

void test('an invalid artifact: exit 1 with the renderer message; usage and config errors: exit 2', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pxed-render-'));
  try {
    const inst = YAML.parse(readFileSync(path.join(repoRoot, 'configs', 'install_config.yaml'), 'utf8')) as { installs: Record<string, Record<string, unknown>> };
    // Passes config validation (the key's comment is free text) but would add a second authorized_keys line.
    inst.installs['web-01']!.users = [
      { username: 'ops', ssh_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICt0ZvimLKo7lC8WSoeglYL6UkQh+DEALiRL2N/Hrnvq a\nssh-ed25519 AAAA evil'] },
    ];
    const file = path.join(dir, 'install_config.yaml');
    writeFileSync(file, YAML.stringify(inst));
    const r = await pxed(['web-01', 'user-data', '--install-config', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'pxed render: ARTIFACT_INVALID: install.users[0].ssh_authorized_keys[0]: an SSH key must be one line without control characters\n',
    );
    const missing = await pxed(['ci-runner-01', 'ipxe']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^pxed render: ARTIFACT_INVALID: netboot\.ipxe: no netboot\.ipxe for NixOS 25\.05/);

    writeFileSync(file, 'installs: {web-01: {os: ubuntu, version: 24.04}}\n');
    const cfg = await pxed(['web-01', 'user-data', '--install-config', file]);
    assert.equal(cfg.code, 2);
    assert.match(cfg.stderr, /install_config\.yaml:1:\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const args of [['nope', 'ipxe'], ['web-01', 'kernel'], ['web-01'], ['web-01', 'nixos-install'], ['web-01', 'ipxe', '--server', 'a;b'], ['web-01', 'ipxe', '--http-port', '0']]) {
    const r = await pxed(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^pxed render: /);
  }
});
