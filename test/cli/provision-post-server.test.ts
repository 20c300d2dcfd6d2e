// `pxed provision --server URL --targets post` against a real `pxed serve` on loopback (DHCP and TFTP off, so it
// binds one TCP port on 127.0.0.1 and nothing else): the post stage runs Ansible locally and its per-host results
// reach the daemon's machine timeline through POST /api/v1/machines/:mac/post-install. Three hosts, installed over
// HTTP as an installer would (iPXE script → token → phone-home): web-01's play succeeds (configured), web-02's fails
// at a task, web-03's is unreachable (ssh to a closed loopback port); both → failed. The playbook's tasks run on the
// controller only (debug, fail) except web-03's ping, so nothing touches this machine.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { waitFor } from '../helpers/netns.js';
import { cliMain, fixtures } from '../helpers/paths.js';

const TOKEN = 'post-server-admin-token-0123456789abcdef';
const HOSTS = { 'web-01': '52:54:00:61:00:01', 'web-02': '52:54:00:61:00:02', 'web-03': '52:54:00:61:00:03' } as const;
let dir = '';
let base = '';
let daemon: ChildProcess | null = null;
let daemonLog = '';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? null : JSON.parse(text) };
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-post-server-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const file = (name: string, doc: unknown) => writeFileSync(path.join(dir, name), stringify(doc));
  copyFileSync(fixtures('config', 'base', 'defaults.yaml'), path.join(dir, 'defaults.yaml'));
  file('vm_specs.yaml', { vms: Object.entries(HOSTS).map(([name, mac]) => ({ name, hypervisor: 'baremetal', boot_method: 'pxe', baremetal: { mac } })) });
  file('install_config.yaml', {
    installs: Object.fromEntries(
      Object.keys(HOSTS).map((name, i) => [
        name,
        { os: 'ubuntu', version: '24.04', users: [{ username: 'ops', sudo: true }], network: { hostname: name, dhcp: false, address_cidr: `127.0.0.${i + 1}/8`, gateway: '127.0.0.254' } },
      ]),
    ),
  });
  file('site.yml', [
    {
      name: 'post-install probe',
      hosts: 'all',
      gather_facts: false,
      vars: { ansible_port: "{{ 1 if inventory_hostname == 'web-03' else 22 }}" },
      tasks: [
        { name: 'note', 'ansible.builtin.debug': { msg: '{{ inventory_hostname }}' }, changed_when: true },
        { name: 'refuse web-02', 'ansible.builtin.fail': { msg: 'web-02 refused on purpose' }, when: "inventory_hostname == 'web-02'" },
        { name: 'reach web-03', 'ansible.builtin.ping': {}, when: "inventory_hostname == 'web-03'" },
      ],
    },
  ]);
  writeFileSync(path.join(dir, 'admin.token'), `${TOKEN}\n`, { mode: 0o600 });
  file('pxed.yaml', {
    server: { address: '127.0.0.1' },
    dhcp: { enabled: false },
    tftp: { enabled: false },
    http: { port },
    registry: { database: './pxed.db' },
    admin: { token_file: './admin.token' },
    provisioning: { defaults: './defaults.yaml', vm_specs: './vm_specs.yaml', install_config: './install_config.yaml' },
  });
  daemon = spawn(process.execPath, [cliMain, 'serve', '--config', path.join(dir, 'pxed.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout!.on('data', (d: Buffer) => (daemonLog += d.toString()));
  daemon.stderr!.on('data', (d: Buffer) => (daemonLog += d.toString()));
  await waitFor('pxed ready', () => daemonLog.includes('"pxed ready"'), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}; pxed said:\n${daemonLog}`);
  });
});

after(async () => {
  if (daemon !== null && daemon.exitCode === null) {
    const exited = new Promise((resolve) => daemon!.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Drives one configured machine to `installed` over HTTP, as its installer would. */
async function install(mac: string): Promise<void> {
  const script = await (await fetch(`${base}/ipxe/${mac}`)).text();
  const token = /\/nocloud\/([A-Za-z0-9_-]+)\//.exec(script)?.[1];
  assert.ok(token, `a token in the install script:\n${script}`);
  const res = await fetch(`${base}/api/v1/boot/${token}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'installed' }) });
  assert.equal(res.status, 200, await res.text());
}

interface Ev {
  kind: string;
  detail: Record<string, unknown>;
}

void test('provision --server --targets post: Ansible results on the daemon timeline, configured or failed', async () => {
  for (const mac of Object.values(HOSTS)) await install(mac);
  const r = spawnSync(
    process.execPath,
    [
      cliMain, 'provision', '--defaults', path.join(dir, 'defaults.yaml'), '--vm-specs', path.join(dir, 'vm_specs.yaml'),
      '--install-config', path.join(dir, 'install_config.yaml'), '--targets', 'post', '--server', base,
      '--playbook', path.join(dir, 'site.yml'), '--build-dir', path.join(dir, 'build'), '--json',
    ],
    { env: { PATH: process.env.PATH, HOME: dir, PXED_TOKEN: TOKEN }, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  const rows = (JSON.parse(r.stdout) as { hosts: Array<{ host: string; result: string; state: string | null }> }).hosts;
  assert.deepEqual(rows.map((h) => [h.host, h.result]), [['web-01', 'ok'], ['web-02', 'failed'], ['web-03', 'failed']]);
  assert.doesNotMatch(r.stderr, /not recorded/);

  const want = { 'web-01': ['configured', 'ok', { changed: 1, failed: 0, unreachable: 0 }], 'web-02': ['failed', 'failed', { failed: 1, unreachable: 0 }], 'web-03': ['failed', 'failed', { unreachable: 1, failed: 0 }] } as const;
  for (const [host, mac] of Object.entries(HOSTS)) {
    const [state, phase, stats] = want[host as keyof typeof want];
    const m = await api('GET', `/api/v1/machines/${mac}`);
    assert.equal((m.json as { state: string }).state, state, host);
    const events = (await api('GET', `/api/v1/machines/${mac}/events`)).json as Ev[];
    const post = events.filter((e) => e.kind === 'post-install').map((e) => e.detail);
    assert.deepEqual(post.map((d) => [d.phase, d.by, d.host]), [['started', 'api', host], [phase, 'api', host]], host);
    for (const [k, v] of Object.entries(stats)) assert.equal((post[1]!.stats as Record<string, number>)[k], v, `${host} ${k}`);
    assert.equal(post[1]!.logPath, path.join(dir, 'build', host, 'logs', 'post.log'));
    if (phase === 'failed') assert.match(String(post[1]!.error), host === 'web-02' ? /refused on purpose/ : /.+/);
    const states = events.filter((e) => e.kind === 'state').map((e) => e.detail.to);
    assert.deepEqual(states.slice(-2), ['post-installing', state], host);
  }
});

void test('POST /machines/:mac/post-install: validated body, coded errors, admin token', async () => {
  const mac = HOSTS['web-01'];
  assert.equal((await fetch(`${base}/api/v1/machines/${mac}/post-install`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"phase":"ok"}' })).status, 401);
  const bad = await api('POST', `/api/v1/machines/${mac}/post-install`, { phase: 'done' });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.json), /body\.phase/);
  const extra = await api('POST', `/api/v1/machines/${mac}/post-install`, { phase: 'ok', stats: { ok: -1, changed: 0, unreachable: 0, failed: 0, skipped: 0 } });
  assert.equal(extra.status, 400);
  assert.equal((await api('POST', `/api/v1/machines/${mac}/post-install`, { phase: 'ok', shell: 'rm -rf /' })).status, 400);
  const unknown = await api('POST', '/api/v1/machines/52:54:00:61:00:99/post-install', { phase: 'started' });
  assert.equal(unknown.status, 404);
  assert.deepEqual([(unknown.json as { error: string }).error, (unknown.json as { cause: string }).cause], ['HTTP_NOT_FOUND', 'MACHINE_NOT_FOUND']);
  // A re-run of the post stage on a configured machine: configured → post-installing → configured.
  assert.equal(((await api('POST', `/api/v1/machines/${mac}/post-install`, { phase: 'started', host: 'web-01' })).json as { state: string }).state, 'post-installing');
  assert.equal(((await api('POST', `/api/v1/machines/${mac}/post-install`, { phase: 'ok', host: 'web-01' })).json as { state: string }).state, 'configured');
});
