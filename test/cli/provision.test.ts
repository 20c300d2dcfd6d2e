// `pxed provision` as a subprocess with the fake terraform (test/orchestrator/bin/terraform): one host failing at
// infra while two complete; --plan-only never applies and never registers; Ctrl-C mid-apply leaves no child and
// still prints the summary; the original's three files with install_config.yaml on standard input.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliMain, fixtures, repoRoot } from '../helpers/paths.js';

const FAKE_TF = path.join(repoRoot, 'test', 'orchestrator', 'bin', 'terraform');
const ORIG = (n: string) => fixtures('config', 'original', n);
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILmBPOixGkAZGsNrK1Zmd/XorWuLVOvhhj/efZu9qT9 t@h';
const VMS = `vms:\n${['web-01', 'web-02', 'web-03']
  .map((n) => `  - name: ${n}\n    boot_method: pxe\n    netifs: [{ bridge: vmbr0 }]\n    proxmox: { node: pve1, storage: local-lvm }\n`)
  .join('')}`;
const INSTALLS = `installs:\n${['web-01', 'web-02', 'web-03'].map((n) => `  ${n}: { os: ubuntu, version: "24.04", users: [{ username: ops, ssh_authorized_keys: ["${KEY}"] }] }\n`).join('')}`;
const SECRET = 'sekret-0123-4567';

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-provision-'));
  writeFileSync(path.join(dir, 'vm_specs.yaml'), VMS);
  writeFileSync(path.join(dir, 'install_config.yaml'), INSTALLS);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function env(run: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    PXED_TERRAFORM: FAKE_TF,
    FAKE_TF_RECORD: path.join(dir, run, 'record.jsonl'),
    PM_API_TOKEN_ID: 'terraform@pve!iac',
    PM_API_TOKEN_SECRET: SECRET,
    ...extra,
  };
}

function args(run: string, more: string[]): string[] {
  return [cliMain, 'provision', '--defaults', ORIG('defaults.yaml'), '--vm-specs', path.join(dir, 'vm_specs.yaml'), '--install-config', path.join(dir, 'install_config.yaml'), '--build-dir', path.join(dir, run, 'build'), ...more];
}

const records = (run: string) =>
  readFileSync(path.join(dir, run, 'record.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { argv: string[]; cwd: string; env: string[]; interrupted?: boolean; pid: number });

void describe('pxed provision with the fake terraform', () => {
  void it('one host failing at infra while two complete: exit 1, the failure names host, stage, exit code, tail and log', () => {
    const r = spawnSync(process.execPath, args('fail', ['--targets', 'infra', '--concurrency', '2', '--json']), {
      env: env('fail', { FAKE_TF_FAIL: 'web-02:apply' }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; hosts: Array<{ host: string; result: string; failedStage: string | null; stagesDone: string[]; error: string | null; log: string }> };
    assert.equal(out.ok, false);
    assert.deepEqual(out.hosts.map((h) => [h.host, h.result, h.stagesDone.join(',')]), [
      ['web-01', 'ok', 'infra'],
      ['web-02', 'failed', ''],
      ['web-03', 'ok', 'infra'],
    ]);
    const bad = out.hosts[1]!;
    assert.equal(bad.failedStage, 'infra');
    assert.match(bad.error!, /web-02: infra failed: terraform apply failed \(exit 1\)/);
    assert.match(bad.error!, /500 Internal Server Error \(fake failure at apply\)/);
    assert.equal(bad.log, path.join(dir, 'fail', 'build', 'web-02', 'logs', 'infra.log'));
    // The commands, in order, per host; credentials only as env NAMES, never in files or logs.
    const rec = records('fail');
    const web1 = rec.filter((x) => x.cwd.endsWith(path.join('web-01', 'tf'))).map((x) => x.argv.slice(0, 2).join(' '));
    assert.deepEqual(web1, ['init -input=false', 'validate -no-color', 'plan -input=false', 'apply -input=false', 'output -json']);
    assert.ok(rec[0]!.env.includes('PROXMOX_VE_API_TOKEN') && rec[0]!.env.includes('PROXMOX_VE_ENDPOINT'));
    for (const h of ['web-01', 'web-02']) {
      for (const f of ['tf/main.tf.json', 'tf/terraform.tfvars.json', 'logs/infra.log']) {
        assert.doesNotMatch(readFileSync(path.join(dir, 'fail', 'build', h, f), 'utf8'), new RegExp(SECRET), `${h}/${f}`);
      }
    }
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(SECRET));
    assert.ok(existsSync(path.join(dir, 'fail', 'build', 'web-01', 'ansible')));
  });

  void it('--plan-only never applies and never registers (no request reaches --server)', async () => {
    let requests = 0;
    const server = http.createServer((_q, s) => {
      requests++;
      s.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const child = spawn(process.execPath, args('plan', ['--plan-only', '--server', url]), { env: env('plan', { PXED_TOKEN: 'admin-token-xyz' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    server.close();
    assert.equal(code, 0, stdout);
    assert.equal(requests, 0);
    const rec = records('plan');
    assert.equal(rec.filter((x) => x.argv[0] === 'apply').length, 0);
    assert.equal(rec.filter((x) => x.argv[0] === 'plan').length, 3);
    assert.match(stdout, /^web-01 +infra +ok /m);
    assert.match(stdout, /3\/3 hosts ok/);
    // non-TTY: timestamped status lines
    assert.match(stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z web-02 +infra terraform plan$/m);
  });

  void it('Ctrl-C mid-apply: terraform gets SIGTERM in its process group, nothing is left running, summary printed', async () => {
    const child = spawn(process.execPath, args('int', ['--targets', 'infra']), { env: env('int', { FAKE_TF_HANG: 'web-01:apply' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const pidFile = path.join(dir, 'int', 'record.jsonl.pid');
    for (let i = 0; i < 600 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(pidFile), 'the fake apply started');
    const tfPid = Number(readFileSync(pidFile, 'utf8'));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    assert.match(stdout, /^web-01 +- +cancelled \(infra\)/m);
    assert.match(stdout, /web-01: infra cancelled: terraform apply cancelled/);
    assert.ok(records('int').some((x) => x.interrupted === true && x.pid === tfPid), 'terraform saw SIGTERM (releases its state lock)');
    assert.throws(() => process.kill(tfPid, 0), /ESRCH/, 'no terraform left running');
  });

  void it("the original's three files, install_config.yaml on standard input (--install-config -)", () => {
    const r = spawnSync(
      process.execPath,
      [cliMain, 'provision', '--defaults', ORIG('defaults.yaml'), '--vm-specs', ORIG('vm_specs.yaml'), '--install-config', '-', '--plan-only', '--hosts', 'web-01', 'ci-runner-01', '--build-dir', path.join(dir, 'stdin', 'build')],
      { env: env('stdin'), input: readFileSync(ORIG('install_config.yaml'), 'utf8'), encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /2\/2 hosts ok/);
    const tfvars = JSON.parse(readFileSync(path.join(dir, 'stdin', 'build', 'ci-runner-01', 'tf', 'terraform.tfvars.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(tfvars.boot_method, 'image');
    assert.match(String(tfvars.image_url), /noble-server-cloudimg/);
    assert.equal(tfvars.node_name, 'pve2');
  });

  void it('boot methods iso and image applied (--targets infra): the seed ISO and the cloud-config reach the root', () => {
    const vms = readFileSync(ORIG('vm_specs.yaml'), 'utf8').replace('      node: pve2\n      storage: local-lvm\n', '      node: pve2\n      storage: local-lvm\n      template_vm_id: 9000\n      snippets_storage: snippets\n');
    writeFileSync(path.join(dir, 'vm_specs_orig.yaml'), vms);
    const r = spawnSync(
      process.execPath,
      [cliMain, 'provision', '--defaults', ORIG('defaults.yaml'), '--vm-specs', path.join(dir, 'vm_specs_orig.yaml'), '--install-config', ORIG('install_config.yaml'), '--hosts', 'web-01', 'ci-runner-01', '--targets', 'infra', '--build-dir', path.join(dir, 'seeds', 'build')],
      { env: env('seeds'), encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /web-01 +infra building the cidata seed ISO/);
    assert.match(r.stdout, /seed not armed \(pxe not in --targets\)/);
    const b = (h: string, f: string) => path.join(dir, 'seeds', 'build', h, 'tf', f);
    const web = JSON.parse(readFileSync(b('web-01', 'terraform.tfvars.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(web.boot_method, 'iso');
    assert.equal(web.cidata_iso_path, b('web-01', 'cidata.iso'));
    assert.match(String(web.iso_url), /live-server-amd64\.iso$/);
    assert.match(spawnSync('xorriso', ['-indev', b('web-01', 'cidata.iso'), '-pvd_info'], { encoding: 'utf8' }).stdout, /^Volume Id\s*:\s*cidata\s*$/m);
    const ci = JSON.parse(readFileSync(b('ci-runner-01', 'terraform.tfvars.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(ci.template_vm_id, 9000);
    assert.equal(ci.image_url, null, 'a clone imports no image');
    assert.equal(ci.snippets_datastore_id, 'snippets');
    assert.equal(ci.network_config, null, 'DHCP: ip_config, no network snippet');
    assert.match(String(ci.user_data), /^#cloud-config\n[\s\S]*hostname: ci-runner-01/);
    const main = JSON.parse(readFileSync(b('ci-runner-01', 'main.tf.json'), 'utf8')) as { variable: Record<string, { sensitive?: boolean }> };
    assert.equal(main.variable.user_data?.sensitive, true);
    assert.equal(records('seeds').filter((x) => x.argv[0] === 'apply').length, 2, 'both applied');
  });

  void it('usage: unknown stage and bad concurrency exit 2', () => {
    for (const bad of [['--targets', 'deploy'], ['--concurrency', '0'], ['--hosts', 'nope']]) {
      const r = spawnSync(process.execPath, args('usage', ['--plan-only', ...bad]), { env: env('usage'), encoding: 'utf8' });
      assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
    }
  });
});
