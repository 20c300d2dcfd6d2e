// `pxed machines` end to end: the compiled CLI as a subprocess against temporary databases and provisioning files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { cliMain } from '../helpers/paths.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import type { Machine } from '../../src/model/machine.js';
import type { BootEvent } from '../../src/model/events.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function pxed(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cliMain, ...args], { cwd, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

const ALPHA = '02:00:00:00:00:0a';
const BETA = '02:00:00:00:00:0b';

let dir: string;
let prov: string[];
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pxed-machines-'));
  const image = { codename: 'noble', iso_url: 'http://images.invalid/u.iso', kernel_url: 'http://images.invalid/linux', initrd_url: 'http://images.invalid/initrd' };
  const files: Record<string, unknown> = {
    'defaults.yaml': { images: { ubuntu: { '24.04': image } } },
    'vm_specs.yaml': {
      vms: [
        { name: 'alpha', hypervisor: 'baremetal', boot_method: 'pxe', baremetal: { mac: ALPHA } },
        { name: 'beta', hypervisor: 'proxmox', boot_method: 'pxe', netifs: [{ bridge: 'vmbr0', mac: BETA }], proxmox: { node: 'pve1' } },
        { name: 'gamma', hypervisor: 'proxmox', boot_method: 'pxe', netifs: [{ bridge: 'vmbr0' }], proxmox: { node: 'pve1' } },
      ],
    },
    'install_config.yaml': {
      installs: {
        alpha: { os: 'ubuntu', version: '24.04' },
        beta: { os: 'ubuntu', version: '24.04' },
        gamma: { os: 'ubuntu', version: '24.04', install_mode: 'always' },
      },
    },
    // A daemon config for --config: its database and provisioning paths are relative to its own folder.
    'etc/pxed.yaml': {
      admin: { token_env: 'PXED_ADMIN_TOKEN' },
      registry: { database: './state/from-config.db' },
      provisioning: { defaults: '../defaults.yaml', vm_specs: '../vm_specs.yaml', install_config: '../install_config.yaml' },
    },
  };
  for (const [name, doc] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), stringify(doc));
  }
  prov = ['--defaults', 'defaults.yaml', '--vm-specs', 'vm_specs.yaml', '--install-config', 'install_config.yaml'];
});
after(() => rmSync(dir, { recursive: true, force: true }));

void describe('pxed machines', () => {
  void it('add → list → show → reinstall → rm, text and --json', async () => {
    const db = ['--db', 'a.db'];
    // alpha's configuration names ALPHA: another MAC for it is refused with the reason, unless forced.
    let r = await pxed(['machines', 'add', 'AA-BB-CC-DD-EE-01', '--host', 'alpha', ...db, ...prov], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /install entry "alpha" configures the NIC 02:00:00:00:00:0a, not aa:bb:cc:dd:ee:01: .*unreachable after its install/);
    r = await pxed(['machines', 'add', 'AA-BB-CC-DD-EE-01', '--host', 'alpha', '--force', ...db, ...prov], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /registered aa:bb:cc:dd:ee:01 as alpha \(install mode once\)/);

    r = await pxed(['machines', 'add', BETA, '--host', 'beta', '--install-mode', 'always', '--json', ...db, ...prov], dir);
    assert.equal(r.code, 0, r.stderr);
    const beta = JSON.parse(r.stdout) as Machine;
    assert.equal(beta.mac, BETA);
    assert.equal(beta.state, 'registered');
    assert.equal(beta.installMode, 'always');

    // The host's own install_mode is the default when --install-mode is absent. (gamma's netif has a generated MAC.)
    r = await pxed(['machines', 'add', '0200.0000.00cc', '--host', 'gamma', '--force', '--json', ...db, ...prov], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Machine).installMode, 'always');

    r = await pxed(['machines', 'list', ...db], dir);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^MAC\s+HOST\s+STATE\s+MODE\s+IP\s+SINCE$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4)), [
      [BETA, 'beta', 'registered', 'always'],
      ['02:00:00:00:00:cc', 'gamma', 'registered', 'always'],
      ['aa:bb:cc:dd:ee:01', 'alpha', 'registered', 'once'],
    ]);

    // Move one machine along, as the daemon would, then filter by state.
    const reg = openRegistry(path.join(dir, 'a.db'));
    reg.machineTransition(BETA, 'booting', 'ipxe-script');
    reg.machineTransition(BETA, 'installing', 'user-data');
    reg.machineTransition(BETA, 'failed', 'phone-home', { detail: 'curtin error' });
    reg.close();
    r = await pxed(['machines', 'list', '--state', 'failed', '--json', ...db], dir);
    assert.deepEqual((JSON.parse(r.stdout) as Machine[]).map((m) => m.mac), [BETA]);
    r = await pxed(['machines', 'list', '--state', 'installed', ...db], dir);
    assert.equal(r.stdout, 'no machines in state installed\n');

    r = await pxed(['machines', 'show', BETA.toUpperCase(), ...db], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^mac:\s+02:00:00:00:00:0b$/m);
    assert.match(r.stdout, /^state:\s+failed \(since /m);
    assert.match(r.stdout, /installing → failed: phone-home/);
    assert.match(r.stdout, /^stage: .*\(failed\)$/m);
    assert.match(r.stdout, /^hint: /m);

    r = await pxed(['machines', 'reinstall', BETA, ...db], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /re-armed 02:00:00:00:00:0b \(beta\): registered/);

    r = await pxed(['machines', 'show', BETA, '--json', '--events', '2', ...db], dir);
    const shown = JSON.parse(r.stdout) as { machine: Machine; events: BootEvent[] };
    assert.equal(shown.machine.state, 'registered');
    assert.deepEqual(
      shown.events.map((e) => [e.detail.from, e.detail.to, e.detail.reason, e.detail.by]),
      [
        ['installing', 'failed', 'phone-home', undefined],
        ['failed', 'registered', 'reinstall', 'cli'],
      ],
    );

    r = await pxed(['machines', 'rm', 'aabbccddee01', '--json', ...db], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { mac: 'aa:bb:cc:dd:ee:01', deleted: true });
    r = await pxed(['machines', 'show', 'aa:bb:cc:dd:ee:01', ...db], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no machine with MAC aa:bb:cc:dd:ee:01/);
  });

  void it('add refuses bad MACs, unknown hosts, another host\'s MAC, bad modes with exit 2 and writes nothing', async () => {
    const db = ['--db', 'refuse.db'];
    const cases: [string[], RegExp][] = [
      [['machines', 'add', 'aa:bb:cc:dd:ee', '--host', 'alpha'], /"aa:bb:cc:dd:ee" is not a MAC address/],
      [['machines', 'add', 'aa:bb-cc:dd:ee:ff', '--host', 'alpha'], /is not a MAC address/],
      [['machines', 'add', '02:00:00:00:00:99', '--host', 'delta'], /unknown install entry "delta" \(not in .*install_config\.yaml; known: alpha, beta, gamma\)/],
      [['machines', 'add', BETA, '--host', 'alpha'], /MAC 02:00:00:00:00:0b belongs to "beta"/],
      [['machines', 'add', ALPHA, '--host', 'alpha', '--install-mode', 'twice'], /--install-mode must be once or always/],
      [['machines', 'add', ALPHA], /missing --host/],
      [['machines', 'add', '--host', 'alpha'], /missing <mac>/],
    ];
    // Independent runs: in parallel to keep the file fast.
    const runs = await Promise.all(cases.map(([args]) => pxed([...args, ...db, ...prov], dir)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = runs[i]!;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(existsSync(path.join(dir, 'refuse.db')), false);
  });

  void it('add reports invalid provisioning inputs as a config error (exit 2)', async () => {
    writeFileSync(path.join(dir, 'broken.yaml'), 'installs:\n  alpha: { os: windows }\n');
    const r = await pxed(['machines', 'add', ALPHA, '--host', 'alpha', '--db', 'x.db', ...prov.slice(0, 4), '--install-config', 'broken.yaml'], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /broken\.yaml:2:/);
  });

  void it('a duplicate add, rm/reinstall of an unknown MAC, and reinstall of a discovered machine exit 1', async () => {
    const db = ['--db', 'dup.db'];
    assert.equal((await pxed(['machines', 'add', ALPHA, '--host', 'alpha', ...db, ...prov], dir)).code, 0);
    let r = await pxed(['machines', 'add', 'AA-00-00-00-00-0A'.replace('AA', '02'), '--host', 'alpha', ...db, ...prov], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /machine 02:00:00:00:00:0a is already registered/);
    r = await pxed(['machines', 'rm', '02:00:00:00:00:77', ...db], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no machine with MAC 02:00:00:00:00:77/);
    r = await pxed(['machines', 'reinstall', '02:00:00:00:00:77', ...db], dir);
    assert.equal(r.code, 1);

    const reg = openRegistry(path.join(dir, 'dup.db'));
    reg.machineCreate({ mac: '02:00:00:00:00:dd', host: null });
    reg.close();
    r = await pxed(['machines', 'reinstall', '02:00:00:00:00:dd', ...db], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is discovered: give it an install entry with "pxed machines adopt 02:00:00:00:00:dd --host ENTRY"/);
    // ... which `add` then does: the discovered machine is adopted, not duplicated.
    r = await pxed(['machines', 'add', '02:00:00:00:00:dd', '--host', 'gamma', '--force', '--json', ...db, ...prov], dir);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout) as Machine;
    assert.equal(m.state, 'registered');
    assert.equal(m.host, 'gamma');
  });

  void it('list/show never create a database; add creates ./var/pxed.db by default', async () => {
    const cwd = path.join(dir, 'fresh');
    mkdirSync(cwd);
    let r = await pxed(['machines', 'list'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'no machines\n');
    r = await pxed(['machines', 'list', '--json'], cwd);
    assert.deepEqual(JSON.parse(r.stdout), []);
    r = await pxed(['machines', 'show', ALPHA], cwd);
    assert.equal(r.code, 1);
    assert.equal(existsSync(path.join(cwd, 'var')), false);
    r = await pxed(['machines', 'add', ALPHA, '--host', 'alpha', ...prov.map((a) => (a.endsWith('.yaml') ? path.join(dir, a) : a))], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(path.join(cwd, 'var', 'pxed.db')));
  });

  void it('--config supplies the database and provisioning paths (relative to the config file)', async () => {
    let r = await pxed(['machines', 'add', ALPHA, '--host', 'alpha', '--config', 'etc/pxed.yaml'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /etc\/state\/from-config\.db/);
    r = await pxed(['machines', 'list', '--json', '--config', 'etc/pxed.yaml'], dir);
    assert.deepEqual((JSON.parse(r.stdout) as Machine[]).map((m) => m.host), ['alpha']);
    // --db wins over the config's database.
    r = await pxed(['machines', 'list', '--json', '--config', 'etc/pxed.yaml', '--db', 'other.db'], dir);
    assert.deepEqual(JSON.parse(r.stdout), []);
    r = await pxed(['machines', 'list', '--config', 'etc/missing.yaml'], dir);
    assert.equal(r.code, 2);
  });

  void it('usage errors exit 2; --help exits 0', async () => {
    const cases = [['machines'], ['machines', 'frob'], ['machines', 'list', '--state', 'bogus'], ['machines', 'list', '--nope'], ['machines', 'show']];
    const runs = await Promise.all(cases.map((args) => pxed(args, dir)));
    for (const [i, args] of cases.entries()) {
      const r = runs[i]!;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^pxed machines: /);
    }
    const r = await pxed(['machines', 'add', '--help'], dir);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: pxed machines <subcommand>/);
  });
});
