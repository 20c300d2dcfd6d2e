// `pxed machines` and `pxed events` in both modes, with the same cases: against a local registry file, and with
// --server against pxed's HTTP app listening on loopback (real policy, operations and registry behind it). The
// commands run in-process through the CLI's main() (fast); `events --follow` runs as a subprocess (it ends on a
// signal).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { main } from '../../src/cli/cli.js';
import { buildHttpApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/log.js';
import { BootEvents } from '../../src/model/events.js';
import type { Machine } from '../../src/model/machine.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import type { MachineRegistry } from '../../src/registry/types.js';
import { MAC, hostSpec, rig } from '../boot/fixtures.js';
import { cliMain } from '../helpers/paths.js';

const TOKEN = 'cli-test-admin-token-0123456789-abcdef';
const SECOND = '52:54:00:99:00:01';
const FOUND = '52:54:00:99:00:02';
const UNKNOWN = '52:54:00:00:00:77';
const HOSTILE = '<script>x</script>\u001b[31m\u0007';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir = '';
const r = rig({ unknownMacs: 'discover' }, [hostSpec('ubu1', 'ubuntu'), hostSpec('spare', 'custom', { mac: null })]);
const app = buildHttpApp({ policy: r.policy, admin: r.admin, assetRoots: [], ipxeBinRoots: [], adminToken: TOKEN, logger: silentLogger, ready: () => true });
let server = '';
/** A loopback port nothing listens on. */
let closedPort = 0;

async function pxed(args: string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => Promise.resolve(''),
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: dir,
  });
  return { code, stdout, stderr };
}

/** Runs `pxed events --follow` as a subprocess until its output matches `first`, runs `then`, waits for `second`. */
async function follow(args: string[], env: Record<string, string>, first: RegExp, then: () => void, second: RegExp): Promise<string> {
  const child = spawn(process.execPath, [cliMain, 'events', '--follow', ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const until = async (re: RegExp): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!re.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`follow: no ${re} in:\n${out}`);
      await new Promise((res) => setTimeout(res, 25));
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

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pxed-client-'));
  const image = { codename: 'noble', iso_url: 'http://images.invalid/u.iso', kernel_url: 'http://images.invalid/linux', initrd_url: 'http://images.invalid/initrd' };
  const files: Record<string, unknown> = {
    'defaults.yaml': { images: { ubuntu: { '24.04': image } } },
    'vm_specs.yaml': {
      vms: [
        { name: 'ubu1', hypervisor: 'baremetal', boot_method: 'pxe', baremetal: { mac: MAC } },
        // Its installed system names its NIC by kernel name (below): any machine may be adopted as spare.
        { name: 'spare', hypervisor: 'baremetal', boot_method: 'pxe', baremetal: { mac: '52:54:00:99:00:99' } },
      ],
    },
    'install_config.yaml': { installs: { ubu1: { os: 'ubuntu', version: '24.04' }, spare: { os: 'ubuntu', version: '24.04', network: { interfaces: ['eth0'] } } } },
  };
  for (const [name, doc] of Object.entries(files)) writeFileSync(path.join(dir, name), stringify(doc));
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

interface Mode {
  name: string;
  /** Extra arguments and environment for every command; `machines` also gets `prov`. */
  args: string[];
  prov: string[];
  env: () => Record<string, string>;
  /** The registry the commands reach (to play the daemon's part: boots, discoveries). */
  registry: () => MachineRegistry;
  where: RegExp;
}

let localReg: MachineRegistry | null = null;
const MODES: Mode[] = [
  {
    name: 'local registry',
    args: ['--db', 'local.db'],
    prov: ['--defaults', 'defaults.yaml', '--vm-specs', 'vm_specs.yaml', '--install-config', 'install_config.yaml'],
    env: () => ({}),
    registry: () => (localReg ??= openRegistry(path.join(dir, 'local.db'))),
    where: /registry .*local\.db/,
  },
  {
    name: '--server',
    args: [],
    prov: [],
    env: () => ({ PXED_SERVER: server, PXED_TOKEN: TOKEN }),
    registry: () => r.registry,
    where: /daemon at http:\/\/127\.0\.0\.1:\d+/,
  },
];

/** The daemon's part: a proxy offer, then the watchdog's stalled. */
function stall(reg: MachineRegistry, mac: string): void {
  reg.eventAppend(mac, BootEvents.dhcp('dhcp-offer', { stage: 'proxy-offer', xid: 1, arch: 7, firmware: 'efi-x64', ipxe: false, strategy: 'binl', bootFile: 'snponly.efi' }));
  reg.machineTransition(mac, 'booting', 'netboot (proxy-offer)');
  reg.machineTransition(mac, 'stalled', 'no progress for 31 min while booting');
}

for (const mode of MODES) {
  void describe(`pxed machines/events on the ${mode.name}`, () => {
    const run = (...args: string[]): Promise<Run> => pxed([...args, ...mode.args, ...(args[0] === 'machines' ? mode.prov : [])], mode.env());

    void it('add (refusals with the reason, --force), list (aligned, search, state), show (sentences, stage, hint)', async () => {
      let out = await run('machines', 'add', MAC.replace(/:/g, '-'), '--host', 'ubu1', '--json');
      assert.equal(out.code, 0, out.stderr);
      assert.equal((JSON.parse(out.stdout) as Machine).state, 'registered');
      out = await run('machines', 'add', MAC, '--host', 'ubu1');
      assert.deepEqual([out.code, /machine 52:54:00:77:00:10 is already registered/.test(out.stderr)], [1, true], out.stderr);
      out = await run('machines', 'add', SECOND, '--host', 'nope');
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr, /unknown install entry "nope"/);
      out = await run('machines', 'add', SECOND, '--host', 'ubu1');
      assert.equal(out.code, 1, out.stderr);
      assert.match(out.stderr, /install entry "ubu1" configures the NIC 52:54:00:77:00:10, not 52:54:00:99:00:01: .*unreachable after its install/);
      out = await run('machines', 'add', SECOND, '--host', 'ubu1', '--force', '--install-mode', 'always');
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /registered 52:54:00:99:00:01 as ubu1 \(install mode always\)/);

      stall(mode.registry(), MAC);
      out = await run('machines', 'list');
      assert.equal(out.code, 0, out.stderr);
      const lines = out.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^MAC {16}HOST {2}STATE {7}MODE {4}IP {2}SINCE$/);
      assert.match(lines[1]!, /^52:54:00:77:00:10 {2}ubu1 {2}stalled {5}once {4}- {3}\d{4}-/);
      assert.match(lines[2]!, /^52:54:00:99:00:01 {2}ubu1 {2}registered {2}always {2}- {3}\d{4}-/);
      out = await run('machines', 'list', '--search', '5254.0099', '--json');
      assert.deepEqual((JSON.parse(out.stdout) as Machine[]).map((m) => m.mac), [SECOND]);
      out = await run('machines', 'list', '--state', 'stalled', '--json');
      assert.deepEqual((JSON.parse(out.stdout) as Machine[]).map((m) => m.mac), [MAC]);

      out = await run('machines', 'show', MAC);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^stage: +boot file \(stalled\)$/m);
      assert.match(out.stdout, /^hint: +proxy offer sent, no TFTP request/m);
      assert.match(out.stdout, /proxy offer: UEFI x64, binl → snponly\.efi/);
      out = await run('machines', 'show', MAC, '--json');
      const shown = JSON.parse(out.stdout) as { stage: string; hint: string; machine: Machine };
      assert.deepEqual([shown.stage, shown.machine.state], ['boot-file', 'stalled']);
    });

    void it('edit, reinstall, adopt a discovered machine (hostile text escaped), rm', async () => {
      let out = await run('machines', 'edit', MAC, '--install-mode', 'always');
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /install mode always \(state stalled\)/);
      out = await run('machines', 'edit', MAC, '--host', 'nope');
      assert.equal(out.code, 2);
      assert.match(out.stderr, /unknown install entry "nope"/);
      out = await run('machines', 'reinstall', MAC, '--json');
      assert.equal(out.code, 0, out.stderr);
      assert.equal((JSON.parse(out.stdout) as Machine).state, 'registered');

      const reg = mode.registry();
      reg.machineCreate({ mac: FOUND, host: null, state: 'discovered', vendorClass: HOSTILE, firmware: 'efi-x64', arch: 7 });
      reg.eventAppend(FOUND, BootEvents.discovered({ stage: 'proxy-offer', arch: 7, firmware: 'efi-x64', ipxe: false, uuid: null, vendorClass: HOSTILE }));
      out = await run('machines', 'show', FOUND);
      assert.match(out.stdout, /^vendor class: <script>x<\/script>\\x1b\[31m\\x07$/m);
      assert.match(out.stdout, /discovered: UEFI x64, vendor class <script>x<\/script>\\x1b\[31m\\x07/);
      assert.match(out.stdout, /^hint: +this machine is discovered: adopt it/m);
      assert.doesNotMatch(out.stdout, /[\u0000-\u0008\u001b]/);
      out = await run('machines', 'reinstall', FOUND);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /is discovered: give it an install entry/);
      out = await run('machines', 'adopt', FOUND, '--host', 'ubu1');
      assert.equal(out.code, 1);
      assert.match(out.stderr, /configures the NIC 52:54:00:77:00:10/);
      out = await run('machines', 'adopt', FOUND, '--host', 'spare');
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /adopted 52:54:00:99:00:02 as spare/);
      out = await run('machines', 'adopt', FOUND, '--host', 'spare');
      assert.equal(out.code, 1);
      assert.match(out.stderr, /is registered, not discovered/);
      if (mode.prov.length > 0) {
        // `pxed render` knows the adopted machine from the registry (the files do not name its MAC).
        out = await pxed(['render', FOUND, 'ipxe', ...mode.args, ...mode.prov]);
        assert.equal(out.code, 0, out.stderr);
        assert.match(out.stdout, /pxed install: spare \(52:54:00:99:00:02\)/);
        out = await pxed(['render', UNKNOWN, 'ipxe', ...mode.args, ...mode.prov]);
        assert.equal(out.code, 2);
        assert.match(out.stderr, /no host with MAC 52:54:00:00:00:77 in the provisioning files or the registry/);
      }
      out = await run('machines', 'rm', FOUND, '--json');
      assert.deepEqual(JSON.parse(out.stdout), { mac: FOUND, deleted: true });
      out = await run('machines', 'rm', FOUND);
      assert.equal(out.code, 1);
    });

    void it('errors: an unknown MAC for show, edit, reinstall, rm, adopt and events', async () => {
      for (const args of [['machines', 'show', UNKNOWN], ['machines', 'edit', UNKNOWN, '--install-mode', 'once'], ['machines', 'reinstall', UNKNOWN], ['machines', 'rm', UNKNOWN], ['machines', 'adopt', UNKNOWN, '--host', 'spare'], ['events', '--mac', UNKNOWN]]) {
        const out = await run(...args);
        assert.equal(out.code, 1, `${args.join(' ')}: ${out.stderr}`);
        assert.match(out.stderr, /no machine with MAC 52:54:00:00:00:77 in /, args.join(' '));
        assert.match(out.stderr, mode.where, args.join(' '));
      }
    });

    void it('events: sentences, --json, and --follow', async () => {
      let out = await run('events', '--mac', MAC, '--last', '3');
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout.trimEnd().split('\n').length, 3);
      assert.match(out.stdout, /52:54:00:77:00:10 {2}stalled → registered: reinstall/);
      out = await run('events', '--json', '--last', '1');
      assert.equal((JSON.parse(out.stdout) as { kind: string }).kind, 'state');
      const reg = mode.registry();
      const followed = await follow([...mode.args, '--mac', MAC, '--last', '1'], mode.env(), /registered/, () => {
        reg.eventAppend(MAC, BootEvents.error('disk on fire'));
      }, /error: disk on fire/);
      assert.match(followed, /52:54:00:77:00:10 {2}error: disk on fire/);
    });
  });
}

void describe('--server errors', () => {
  void it('unreachable daemon, bad token, missing token, --db with --server', async () => {
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [['machines', 'list'], { PXED_SERVER: `http://127.0.0.1:${closedPort}`, PXED_TOKEN: TOKEN }, 1, /daemon at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/],
      [['machines', 'list'], { PXED_SERVER: server, PXED_TOKEN: 'wrong' }, 1, /refused the token in PXED_TOKEN/],
      [['events'], { PXED_SERVER: server, PXED_TOKEN: 'wrong' }, 1, /refused the token in PXED_TOKEN/],
      [['machines', 'list', '--server', server], {}, 2, /--server needs the admin token in PXED_TOKEN/],
      [['machines', 'list', '--server', server, '--db', 'x.db'], { PXED_TOKEN: TOKEN }, 2, /--db and --server exclude each other/],
      [['machines', 'list', '--server', 'ftp://x'], { PXED_TOKEN: TOKEN }, 2, /--server must be an http\(s\) URL/],
    ];
    for (const [args, env, code, re] of cases) {
      const out = await pxed(args, env);
      assert.equal(out.code, code, `${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stderr, re);
      assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});

after(() => localReg?.close());
