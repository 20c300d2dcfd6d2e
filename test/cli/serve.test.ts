// `pxed serve` as a process: starts every service in order inside a namespace of its own, answers HTTP, stops in
// reverse order on SIGTERM with exit 0; a broken config exits 2 with the file position and no stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Netns, vethPair, waitFor } from '../helpers/netns.js';
import { cliMain, fixtures } from '../helpers/paths.js';

const SERVER = '10.66.0.2';
let dir: string;
let server: Netns;
let client: Netns;

function config(extra = ''): string {
  return [
    'server: { interface: eth0 }',
    'dhcp: { enabled: true }',
    `tftp: { enabled: true, roots: [${JSON.stringify(dir)}] }`,
    'http: { port: 8080 }',
    'registry: { database: ./pxed.db }',
    'admin: { token_file: ./admin.token }',
    'provisioning: { defaults: ./defaults.yaml, vm_specs: ./vm_specs.yaml, install_config: ./install_config.yaml }',
    extra,
  ].join('\n');
}

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-serve-'));
  for (const f of ['defaults.yaml', 'vm_specs.yaml', 'install_config.yaml']) copyFileSync(fixtures('config', 'base', f), path.join(dir, f));
  server = new Netns('pxs');
  client = new Netns('pxc');
  vethPair(server, 'eth0', `${SERVER}/24`, client, 'eth0', '10.66.0.9/24');
});

after(async () => {
  await server.destroy();
  await client.destroy();
  rmSync(dir, { recursive: true, force: true });
});

void test('serve starts registry → HTTP → TFTP → DHCP → watchdog → retention → post-install, serves, and stops in reverse on SIGTERM', async () => {
  writeFileSync(path.join(dir, 'pxed.yaml'), config());
  const child = server.spawn('node', [cliMain, 'serve', '--config', path.join(dir, 'pxed.yaml')], { detached: false });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor('pxed ready', () => log.includes('"pxed ready"'), 20_000);
  assert.match(client.exec('curl', ['-s', `http://${SERVER}:8080/readyz`]), /"ready"/);
  assert.match(client.exec('curl', ['-s', `http://${SERVER}:8080/boot.ipxe`]), /^#!ipxe/);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, log.slice(-2000));
  const order = (msg: string): string[] =>
    log
      .split('\n')
      .filter((l) => l.includes(`"msg":"${msg}"`))
      .map((l) => (JSON.parse(l) as { service: string }).service);
  const started = order('service started');
  assert.deepEqual(started, ['registry', 'http', 'tftp', 'dhcp', 'watchdog', 'retention', 'post-install']);
  assert.deepEqual(order('service stopped'), [...started].reverse());
});

void test('a broken daemon config exits 2 naming file:line:col and the key, without a stack trace', () => {
  writeFileSync(path.join(dir, 'bad.yaml'), config('tftp_typo: 1'));
  const r = spawnSync('node', [cliMain, 'serve', '--config', path.join(dir, 'bad.yaml')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.yaml:8:1: tftp_typo: unknown key/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

void test('usage errors exit 2', () => {
  const r = spawnSync('node', [cliMain, 'serve', '--http-port', 'eighty'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--http-port/);
});
