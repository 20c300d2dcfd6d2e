// The closed loop: a real `pxed serve` in a network namespace this test creates, `pxed provision --hosts web-01
// --targets infra pxe os post --server` in a second namespace with the fake terraform, and a simulated installer
// that fetches its iPXE script and NoCloud artifact with the minted token and phones home over HTTP. The os stage
// sees `installed`; then Ansible runs post_config_common.yml for real against a throwaway Debian root (a copy of
// the debootstrap root test/orchestrator's chroot run caches under test/.cache/) over its chroot connection, never
// this machine. Summary: ok, configured, Ansible's recap; exit 0; the daemon's timeline has the post stage.
// Second case, boot_method iso: pxe runs first and arms the boot through the daemon, the cidata seed ISO Terraform
// gets carries that boot's token, and the installer (simulated: it reads the seed back with xorriso) phones home
// with it → installed.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { derivedMac } from '../../src/config/merge.js';
import { debianRoot, removeRoot, throwawayRoot } from '../helpers/debootstrap.js';
import { Netns, vethPair, waitFor } from '../helpers/netns.js';
import { cliMain, fixtures, repoRoot } from '../helpers/paths.js';

const SERVER = '10.67.0.2';
const URL = `http://${SERVER}:8080`;
const TOKEN = 'loop-admin-token-0123456789abcdefghijkl';
const FAKE_TF = path.join(repoRoot, 'test', 'orchestrator', 'bin', 'terraform');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILmBPOixGkAZGsNrK1Zmd/XorWuLVOvhhj/efZu9qT9 devops@laptop';
let dir: string;
let root = '';
let server: Netns;
let client: Netns;

before(async () => {
  root = await throwawayRoot(await debianRoot());
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-loop-'));
  copyFileSync(fixtures('config', 'base', 'defaults.yaml'), path.join(dir, 'defaults.yaml'));
  writeFileSync(
    path.join(dir, 'vm_specs.yaml'),
    ['web-01:pxe', 'web-02:iso'].map((e) => e.split(':')).reduce((t, [n, m]) => `${t}  - name: ${n}\n    boot_method: ${m}\n    netifs: [{ bridge: vmbr0 }]\n    proxmox: { node: pve1, storage: local-lvm }\n`, 'vms:\n'),
  );
  writeFileSync(
    path.join(dir, 'install_config.yaml'),
    ['web-01', 'web-02'].reduce(
      (t, n) => `${t}  ${n}:\n    os: ubuntu\n    version: "24.04"\n    users: [{ username: devops, sudo: true, ssh_authorized_keys: ["${KEY}"] }]\n    network: { hostname: ${n}, domain: lab.local }\n`,
      'installs:\n',
    ),
  );
  writeFileSync(path.join(dir, 'admin.token'), TOKEN + '\n', { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'pxed.yaml'),
    [
      'server: { interface: eth0 }',
      'dhcp: { enabled: false }',
      'tftp: { enabled: false }',
      'http: { port: 8080 }',
      'registry: { database: ./pxed.db }',
      'admin: { token_file: ./admin.token }',
      'provisioning: { defaults: ./defaults.yaml, vm_specs: ./vm_specs.yaml, install_config: ./install_config.yaml }',
    ].join('\n'),
  );
  server = new Netns('pxls');
  client = new Netns('pxlc');
  vethPair(server, 'eth0', `${SERVER}/24`, client, 'eth0', '10.67.0.9/24');
  const serve = server.spawn('node', [cliMain, 'serve', '--config', path.join(dir, 'pxed.yaml')]);
  let log = '';
  serve.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  serve.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  await waitFor('pxed ready', () => log.includes('"pxed ready"'), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}; pxed said:\n${log}`);
  });
});

/** `pxed provision --server` in the client namespace with the fake terraform; output collected in `out()`. */
function provision(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = client.spawn('env', [
    `PATH=${process.env.PATH}`,
    `PXED_TERRAFORM=${FAKE_TF}`,
    `FAKE_TF_RECORD=${path.join(dir, 'record.jsonl')}`,
    'PROXMOX_VE_API_TOKEN=terraform@pve!iac=loop-secret-1',
    'PROXMOX_VE_ENDPOINT=https://pve.invalid:8006/',
    `PXED_TOKEN=${TOKEN}`,
    'PXED_POLL_MS=100',
    process.execPath,
    cliMain, 'provision',
    '--defaults', path.join(dir, 'defaults.yaml'),
    '--vm-specs', path.join(dir, 'vm_specs.yaml'),
    '--install-config', path.join(dir, 'install_config.yaml'),
    '--server', URL, '--timeout', '60s',
    '--build-dir', path.join(dir, 'build'),
    ...args,
  ]);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

after(async () => {
  await server.destroy();
  await client.destroy();
  if (root !== '') await removeRoot(root);
  rmSync(dir, { recursive: true, force: true });
});

void test('provision → plan/apply → MAC registered → installer fetches with its token and phones home → installed → Ansible → configured, exit 0', async () => {
  const p = provision([
    '--hosts', 'web-01', '--targets', 'infra', 'pxe', 'os', 'post',
    '--playbook', path.join(repoRoot, 'ansible', 'playbooks', 'post_config_common.yml'),
    '--post-chroot', root,
  ]);
  const out = p.out;

  // The installer: once the os stage waits, the "VM" netboots: its iPXE script mints a token.
  await waitFor('os stage waiting', () => / web-01 +os +started/.test(out()), 30_000);
  const mac = derivedMac('web-01', 0);
  const script = client.exec('curl', ['-sf', `${URL}/ipxe/${mac}`]);
  const token = /\/nocloud\/([^/\s]+)\//.exec(script)?.[1];
  assert.ok(token, `a token URL in the install script:\n${script}`);
  assert.match(client.exec('curl', ['-sf', `${URL}/nocloud/${token}/user-data`]), /autoinstall/);
  client.exec('curl', ['-sf', '-X', 'POST', '-H', 'content-type: application/json', '-d', '{"status":"installed","detail":"simulated"}', `${URL}/api/v1/boot/${token}/events`]);

  const code = await p.exited;
  process.stderr.write(out().slice(Math.max(0, out().indexOf('\nHOST'))));
  assert.equal(code, 0, out());
  assert.match(out(), /web-01 +os +(booting|installing) /, 'the os stage showed the stage reached');
  assert.match(out(), /web-01 +post +ansible-playbook/);
  assert.match(out(), /^web-01 +infra,pxe,os,post +ok +configured /m);
  assert.match(out(), /^web-01: ansible ok=\d+ changed=[1-9]\d* unreachable=0 failed=0 skipped=\d+$/m);
  assert.match(out(), /1\/1 host ok/);
  // Ansible changed the throwaway root (and only it).
  assert.equal(readFileSync(path.join(root, 'etc', 'hostname'), 'utf8'), 'web-01\n');
  assert.match(readFileSync(path.join(root, 'etc', 'passwd'), 'utf8'), /^devops:/m);
  assert.match(readFileSync(path.join(dir, 'build', 'web-01', 'ansible', 'inventory.yaml'), 'utf8'), /"ansible_connection": "chroot"/);
  assert.doesNotMatch(out(), /loop-secret-1|loop-admin-token/);
  // The post stage's results are on the daemon's timeline (POST /api/v1/machines/:mac/post-install).
  const get = (p: string): unknown => JSON.parse(client.exec('curl', ['-sf', '-H', `authorization: Bearer ${TOKEN}`, `${URL}/api/v1${p}`]));
  assert.equal((get(`/machines/${mac}`) as { state: string }).state, 'configured');
  const post = (get(`/machines/${mac}/events`) as Array<{ kind: string; detail: { phase?: string; stats?: { changed: number } } }>).filter((e) => e.kind === 'post-install');
  assert.deepEqual(post.map((e) => e.detail.phase), ['started', 'ok']);
  assert.ok((post[1]!.detail.stats?.changed ?? 0) > 0, 'Ansible stats on the timeline');
});

void test('boot_method iso: pxe arms the boot first, the seed ISO carries its token, the installer phones home with it → installed', async () => {
  const p = provision(['--hosts', 'web-02', '--targets', 'infra', 'pxe', 'os']);
  await waitFor('os stage waiting', () => / web-02 +os +started/.test(p.out()), 30_000);
  const out = p.out();
  assert.ok(out.indexOf(' web-02 pxe ') < out.indexOf(' web-02 infra '), 'pxe before infra');
  assert.match(out, /web-02 +pxe +registered 02:[0-9a-f:]+ for ubuntu 24\.04 \(boot armed for its cidata seed ISO\)/);
  // The installer boots the ISO and reads its seed: the same autoinstall document, with the armed boot's token.
  const iso = path.join(dir, 'build', 'web-02', 'tf', 'cidata.iso');
  const seed = path.join(dir, 'seed');
  execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', seed], { stdio: 'ignore' });
  const userData = readFileSync(path.join(seed, 'user-data'), 'utf8');
  const token = new RegExp(`${URL.replace(/\./g, '\\.')}/api/v1/boot/([A-Za-z0-9_-]{43})/events`).exec(userData)?.[1];
  assert.ok(token, `the phone-home URL with a live token in the seed:\n${userData}`);
  client.exec('curl', ['-sf', '-X', 'POST', '-H', 'content-type: application/json', '-d', '{"status":"installed","detail":"simulated iso install"}', `${URL}/api/v1/boot/${token}/events`]);
  const code = await p.exited;
  assert.equal(code, 0, p.out());
  assert.match(p.out(), /^web-02 +pxe,infra,os +ok +installed /m);
  const tfvars = JSON.parse(readFileSync(path.join(dir, 'build', 'web-02', 'tf', 'terraform.tfvars.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(tfvars.boot_method, 'iso');
  assert.equal(tfvars.cidata_iso_path, iso);
});
