// `pxed machines` and `pxed events` in both modes: against a local registry file, and with --server against
// pxed's HTTP app listening on loopback (real policy and registry behind it). The CLI runs as a subprocess.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { buildHttpApp } from '../../src/http/app.js';
import { entrySummaries } from '../../src/http/ui/page-api.js';
import { silentLogger } from '../../src/log.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import type { Machine } from '../../src/registry/types.js';
import { MAC, client, hostSpec, query, rig } from '../boot/fixtures.js';
import { cliMain } from '../helpers/paths.js';

const TOKEN = 'cli-test-admin-token-0123456789';
const OTHER = '52:54:00:99:00:02';
const HOSTILE = '<script>x</script>\u001b[31m\u0007';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function pxed(args: string[], env: Record<string, string> = {}, cwd = dir): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cliMain, ...args], { cwd, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '', PXED_SERVER: '', PXED_TOKEN: '', ...env } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

/** Runs `pxed events --follow`, waits until its output matches `first`, runs `then`, waits for `second`, stops it. */
async function follow(args: string[], env: Record<string, string>, first: RegExp, then: () => void, second: RegExp): Promise<string> {
  const child = spawn(process.execPath, [cliMain, 'events', '--follow', ...args], { cwd: dir, env: { ...process.env, NODE_OPTIONS: '', PXED_SERVER: '', PXED_TOKEN: '', ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const until = async (re: RegExp): Promise<void> => {
    const deadline = Date.now() + 8000;
    while (!re.test(out)) {
      if (Date.now() > deadline) throw new Error(`follow: no ${re} in:\n${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    await until(first);
    then();
    await until(second);
  } finally {
    child.kill('SIGTERM');
  }
  return out;
}

let dir: string;
let prov: string[];
const r = rig({ unknownMacs: 'discover' }, [hostSpec('ubu1', 'ubuntu'), hostSpec('spare', 'custom', { mac: null, netifs: [] })]);
const app = buildHttpApp({
  policy: r.policy,
  admin: r.admin,
  assetRoots: [],
  ipxeBinRoots: [],
  adminToken: TOKEN,
  entries: () => entrySummaries(r.hosts),
  logger: silentLogger,
  ready: () => true,
});
let server = '';
/** A loopback port nothing listens on. */
let closedPort = 0;
const remote = (): Record<string, string> => ({ PXED_SERVER: server, PXED_TOKEN: TOKEN });

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pxed-client-'));
  const image = { codename: 'noble', iso_url: 'http://images.invalid/u.iso', kernel_url: 'http://images.invalid/linux', initrd_url: 'http://images.invalid/initrd' };
  const files: Record<string, unknown> = {
    'defaults.yaml': { images: { ubuntu: { '24.04': image } } },
    'vm_specs.yaml': { vms: [{ name: 'ubu1', hypervisor: 'baremetal', boot_method: 'pxe', baremetal: { mac: MAC } }, { name: 'spare', hypervisor: 'proxmox', boot_method: 'pxe', netifs: [{ bridge: 'vmbr0' }], proxmox: { node: 'pve1' } }] },
    'install_config.yaml': { installs: { ubu1: { os: 'ubuntu', version: '24.04' }, spare: { os: 'ubuntu', version: '24.04' } } },
  };
  for (const [name, doc] of Object.entries(files)) writeFileSync(path.join(dir, name), stringify(doc));
  prov = ['--defaults', 'defaults.yaml', '--vm-specs', 'vm_specs.yaml', '--install-config', 'install_config.yaml'];
  const probe = net.createServer();
  await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((res) => probe.close(res));
  await app.listen({ host: '127.0.0.1', port: 0 });
  server = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await app.close();
  r.close();
  rmSync(dir, { recursive: true, force: true });
});

void describe('pxed machines/events with --server', () => {
  void it('add, list, show (sentences, stage, hint), edit, reinstall, adopt, rm', async () => {
    let out = await pxed(['machines', 'add', MAC.replace(/:/g, '-'), '--host', 'ubu1', '--json'], remote());
    assert.equal(out.code, 0, out.stderr);
    assert.equal((JSON.parse(out.stdout) as Machine).state, 'registered');
    r.policy.dhcpBootSync(query(client('efi-x64'), 'proxy-offer'));
    r.clock.advanceMinutes(31);
    r.policy.checkWatchdog();

    out = await pxed(['machines', 'list', '--server', server], { PXED_TOKEN: TOKEN });
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^MAC {16}HOST {2}STATE {4}MODE {2}IP {2}SINCE$/);
    assert.match(lines[1]!, new RegExp(`^${MAC}  ubu1  stalled  once  -   \\d{4}-`));

    out = await pxed(['machines', 'show', MAC], remote());
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^stage: +boot file \(stalled\)$/m);
    assert.match(out.stdout, /^hint: +proxy offer sent, no TFTP request/m);
    assert.match(out.stdout, /proxy offer: UEFI x64, binl → snponly\.efi/);
    out = await pxed(['machines', 'show', MAC, '--json'], remote());
    assert.equal((JSON.parse(out.stdout) as { stage: string }).stage, 'boot-file');

    out = await pxed(['machines', 'edit', MAC, '--install-mode', 'always'], remote());
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /install mode always \(state stalled\)/);
    out = await pxed(['machines', 'reinstall', MAC], remote());
    assert.equal(out.code, 0, out.stderr);
    assert.equal(r.registry.machineGet(MAC)?.state, 'registered');

    // A machine discovered by the daemon, with a hostile vendor class: escaped in human output.
    r.policy.dhcpBootSync(query(client('efi-x64', { mac: OTHER, vendorClass: HOSTILE })));
    out = await pxed(['machines', 'show', OTHER], remote());
    assert.match(out.stdout, /^vendor class: <script>x<\/script>\\x1b\[31m\\x07$/m);
    assert.doesNotMatch(out.stdout, /[\u0000-\u0008\u001b]/);
    out = await pxed(['machines', 'adopt', OTHER, '--host', 'spare'], remote());
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /adopted 52:54:00:99:00:02 as spare/);
    out = await pxed(['machines', 'adopt', OTHER, '--host', 'spare'], remote());
    assert.equal(out.code, 1);
    assert.match(out.stderr, /is registered, not discovered/);
    out = await pxed(['machines', 'rm', OTHER, '--json'], remote());
    assert.deepEqual(JSON.parse(out.stdout), { mac: OTHER, deleted: true });
  });

  void it('errors: unknown MAC, entry not in config, unreachable daemon, bad or missing token', async () => {
    // One at a time: the CI machine may be busy, and these are cheap.
    const runs: Run[] = [];
    for (const [args, env] of [
      [['machines', 'show', '52:54:00:00:00:77'], remote()],
      [['machines', 'add', '52:54:00:00:00:78', '--host', 'nope'], remote()],
      [['machines', 'list'], { PXED_SERVER: `http://127.0.0.1:${closedPort}`, PXED_TOKEN: TOKEN }],
      [['machines', 'list'], { PXED_SERVER: server, PXED_TOKEN: 'wrong' }],
      [['machines', 'list', '--server', server], {}],
      [['events', '--mac', '52:54:00:00:00:77'], remote()],
    ] as [string[], Record<string, string>][]) {
      runs.push(await pxed(args, env));
    }
    const want: [number, RegExp][] = [
      [1, /no machine with MAC 52:54:00:00:00:77 in daemon at http:\/\/127\.0\.0\.1:\d+/],
      [2, /host/],
      [1, /daemon at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/],
      [1, /refused the token in PXED_TOKEN/],
      [2, /--server needs the admin token in PXED_TOKEN/],
      [1, /no machine with MAC 52:54:00:00:00:77/],
    ];
    for (const [i, [code, re]] of want.entries()) {
      assert.equal(runs[i]!.code, code, `case ${i}: ${runs[i]!.stderr}`);
      assert.match(runs[i]!.stderr, re, `case ${i}`);
      assert.doesNotMatch(runs[i]!.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  void it('events: sentences, --json, and --follow over SSE', async () => {
    let out = await pxed(['events', '--mac', MAC, '--last', '3'], remote());
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trimEnd().split('\n').length, 3);
    out = await pxed(['events', '--json', '--last', '1'], remote());
    assert.equal((JSON.parse(out.stdout) as { kind: string }).kind, 'state');
    const followed = await follow(['--mac', MAC, '--last', '1'], remote(), /registered/, () => {
      r.policy.dhcpBootSync(query(client('efi-x64'), 'proxy-offer'));
    }, /proxy offer: UEFI x64/);
    assert.match(followed, /52:54:00:77:00:10 {2}proxy offer/);
  });
});

void describe('pxed machines/events on the local registry', () => {
  void it('adopt, edit, events and --follow on the file', async () => {
    const db = ['--db', 'local.db'];
    const reg = openRegistry(path.join(dir, 'local.db'));
    reg.machineCreate({ mac: OTHER, host: null, vendorClass: HOSTILE });
    reg.eventAppend(OTHER, 'discovered', { firmware: 'bios', vendorClass: HOSTILE });
    let out = await pxed(['machines', 'adopt', OTHER, '--host', 'spare', ...db, ...prov]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(reg.machineGet(OTHER)?.state, 'registered');
    out = await pxed(['machines', 'adopt', OTHER, '--host', 'spare', ...db, ...prov]);
    assert.equal(out.code, 1);
    out = await pxed(['machines', 'edit', OTHER, '--host', 'nope', ...db, ...prov]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /unknown install entry "nope"/);
    out = await pxed(['machines', 'edit', OTHER, '--install-mode', 'always', '--json', ...db, ...prov]);
    assert.equal((JSON.parse(out.stdout) as Machine).installMode, 'always');
    // `pxed render` knows the adopted machine from the registry (the files do not name its MAC).
    out = await pxed(['render', OTHER, 'ipxe', ...db, ...prov]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /pxed install: spare \(52:54:00:99:00:02\)/);
    out = await pxed(['machines', 'list', '--search', '9900', ...db]);
    assert.match(out.stdout, /52:54:00:99:00:02/);
    out = await pxed(['events', '--mac', OTHER, ...db]);
    assert.match(out.stdout, /discovered: BIOS, vendor class <script>x<\/script>\\x1b\[31m\\x07/);
    const followed = await follow(['--mac', OTHER, ...db], {}, /registered/, () => void reg.eventAppend(OTHER, 'error', { reason: 'disk on fire' }), /error: disk on fire/);
    assert.match(followed, /error: disk on fire/);
    reg.close();
  });
});
