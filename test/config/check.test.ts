// `pxed config check` as a subprocess: the shipped examples, standard input, and every broken fixture
// (exit 2, each error as file:line:col: key.path: message, no stack trace).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliMain, fixtures, repoRoot } from '../helpers/paths.js';

function pxed(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliMain, ...args], { cwd: repoRoot, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Async variant, so the broken fixtures can run a few at a time (each is a Node start-up; 60 s: several seconds
 * each on a loaded 2-core CI machine).
 */
function pxedAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliMain, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
}

interface Expected {
  errors: Array<{ file: string; base: boolean; line: number; col: number; path: string; message: string }>;
}

const FIXTURE_ROOT = path.relative(repoRoot, fixtures('config'));
const FILES = [
  ['defaults.yaml', '--defaults'],
  ['vm_specs.yaml', '--vm-specs'],
  ['install_config.yaml', '--install-config'],
] as const;

/** The NixOS example's netboot.ipxe (test fixture, without a checksum record). */
const ASSET_ROOT = ['--asset-root', path.relative(repoRoot, fixtures('os', 'assets'))];

void describe('pxed config check on the shipped examples', () => {
  void it('prints one summary line per host; without the NixOS netboot.ipxe ci-runner-01 cannot boot (exit 1)', () => {
    const r = pxed(['config', 'check']);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 1);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^HOST\s+HYPERVISOR\s+BOOT\s+OS\s+MAC\s+IP$/);
    assert.match(lines[1]!, /^web-01\s+proxmox\s+pxe\s+ubuntu 24\.04\s+52:54:00:12:34:01\s+192\.0\.2\.10\/24$/);
    assert.match(lines[2]!, /^ci-runner-01\s+proxmox\s+pxe\s+nixos \S+\s+52:54:00:12:34:02\s+dhcp$/);
    assert.match(lines[3]!, /^baremetal-01\s+baremetal\s+pxe\s+ubuntu 22\.04\s+00:25:90:ab:cd:01\s+198\.51\.100\.20\/24$/);
    assert.equal(lines[4], 'ci-runner-01: error: asset nixos/25.05/netboot.ipxe is missing: no asset roots are configured (http.asset_roots)');
    assert.equal(lines[5], '  fix: set http.asset_roots, then pxed assets fetch nixos/25.05/netboot.ipxe');
    assert.equal(lines[6], '3 hosts valid; 1 cannot boot (1 error)');
  });

  void it('with the netboot.ipxe in an asset root: OK, and a warning that it is not verified', () => {
    const r = pxed(['config', 'check', ...ASSET_ROOT]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[4], 'ci-runner-01: warning: asset nixos/25.05/netboot.ipxe is not verified: no checksum record (or the file changed since it was verified)');
    assert.equal(lines[5], '  fix: pxed assets fetch nixos/25.05/netboot.ipxe');
    assert.equal(lines[6], '3 hosts OK; 1 warning');
  });

  void it('reads install_config from standard input with --install-config -', () => {
    const r = pxed(['config', 'check', ...ASSET_ROOT, '--install-config', '-'], readFileSync(path.join(repoRoot, 'configs/install_config.yaml'), 'utf8'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^web-01 /m);
    assert.match(r.stdout, /3 hosts OK/);
  });

  void it('names <stdin> in errors from standard input', () => {
    const r = pxed(['config', 'check', '--install-config', '-'], 'installs:\n  web-01:\n    os: windows\n');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /<stdin>:3:9: installs\.web-01\.os: expected one of "ubuntu", "nixos", "custom"/);
    assertNoStack(r.stderr);
  });

  void it('validates the daemon config and takes its provisioning paths', () => {
    const r = pxed(['config', 'check', '--daemon-config', 'configs/pxed.yaml', ...ASSET_ROOT]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /3 hosts OK; daemon config OK/);
  });

  void it('prints JSON with --json', () => {
    const r = pxed(['config', 'check', '--json', ...ASSET_ROOT]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; hosts: Array<{ host: string; mac: string; ip: string; os: string }>; boot: Array<{ host: string; severity: string }> };
    assert.equal(out.ok, true);
    assert.deepEqual(out.boot.map((b) => [b.host, b.severity]), [['ci-runner-01', 'warning']]);
    assert.deepEqual(
      out.hosts.map((h) => [h.host, h.mac, h.ip]),
      [
        ['web-01', '52:54:00:12:34:01', '192.0.2.10/24'],
        ['ci-runner-01', '52:54:00:12:34:02', 'dhcp'],
        ['baremetal-01', '00:25:90:ab:cd:01', '198.51.100.20/24'],
      ],
    );
  });

  void it('exits 2 on usage errors', () => {
    assert.equal(pxed(['config']).status, 2);
    assert.equal(pxed(['config', 'frobnicate']).status, 2);
    assert.equal(pxed(['config', 'check', '--no-such-flag']).status, 2);
    const missing = pxed(['config', 'check', '--defaults', 'does/not/exist.yaml']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /does\/not\/exist\.yaml: cannot read file: no such file/);
  });
});

void describe('pxed config check on broken fixtures', () => {
  const cases = readdirSync(fixtures('config'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'base' && d.name !== 'original')
    .map((d) => d.name)
    .sort();

  void it('has at least 15 broken cases', () => {
    assert.ok(cases.length >= 15, `${cases.length} cases`);
  });

  const argsFor = (name: string): string[] => {
    const dir = path.join(FIXTURE_ROOT, name);
    const args = ['config', 'check'];
    for (const [file, flag] of FILES) {
      args.push(flag, existsSync(path.join(repoRoot, dir, file)) ? path.join(dir, file) : path.join(FIXTURE_ROOT, 'base', file));
    }
    if (existsSync(path.join(repoRoot, dir, 'pxed.yaml'))) args.push('--daemon-config', path.join(dir, 'pxed.yaml'));
    return args;
  };
  const results = new Map<string, { status: number | null; stdout: string; stderr: string }>();
  void before(async () => {
    const all = await mapLimit(cases, 4, (name) => pxedAsync(argsFor(name)));
    cases.forEach((name, i) => results.set(name, all[i]!));
  });

  for (const name of cases) {
    void it(name, () => {
      const dir = path.join(FIXTURE_ROOT, name);
      const expected = JSON.parse(readFileSync(path.join(repoRoot, dir, 'expect.json'), 'utf8')) as Expected;
      const r = results.get(name)!;
      assert.equal(r.status, 2, `exit status; stderr:\n${r.stderr}`);
      assert.equal(r.stdout, '');
      assertNoStack(r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      const n = expected.errors.length;
      assert.equal(lines[0], `pxed config check: invalid configuration (${n} error${n === 1 ? '' : 's'}):`);
      assert.equal(lines.length, n + 1, r.stderr);
      expected.errors.forEach((e, i) => {
        const file = path.join(e.base ? path.join(FIXTURE_ROOT, 'base') : dir, e.file);
        const head = `  ${file}:${e.line}:${e.col}: ${e.path === '' ? '' : `${e.path}: `}`;
        assert.ok(lines[i + 1]!.startsWith(head + e.message), `line ${i + 1}:\n  got:      ${lines[i + 1]}\n  expected: ${head}${e.message}...`);
      });
    });
  }
});
