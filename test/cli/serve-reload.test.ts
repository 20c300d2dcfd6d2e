// `pxed serve` as a process in a namespace of its own, with a rate-limited TFTP transfer and HTTP download (curl
// --limit-rate, from a client namespace) running across (1) a SIGHUP that applies a changed provisioning config
// (hosts removed and a MAC changed, synced into the registry with timeline events), (2) a SIGHUP with an invalid
// config (refused with file:line:col, the old one keeps serving), and (3) a SIGTERM, which lets both finish before
// stopping, closes the registry cleanly (no -wal file left) and exits 0. Then a drain deadline shorter than a
// download: the download is cut at the deadline. (The second script fetch arms :03 too, hence `booting`.)
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openRegistry } from '../../src/registry/sqlite.js';
import { Netns, vethPair, waitFor } from '../helpers/netns.js';
import { cliMain, fixtures } from '../helpers/paths.js';

const SERVER = '10.66.0.2';
/** TFTP is lock-step (nothing is buffered ahead); HTTP is made bigger than the socket buffers on both ends (a few
 *  MiB), so the server is still writing when the signals arrive. */
const SIZE = 1024 * 1024;
const BIG = 32 * 1024 * 1024;
let dir: string;
let server: Netns;
let client: Netns;
let payload: Buffer;
let big: Buffer;

function config(drainSeconds: number, extra = ''): string {
  return [
    `server: { interface: eth0, drain_seconds: ${drainSeconds} }`,
    'dhcp: { enabled: true }',
    `tftp: { enabled: true, roots: [${JSON.stringify(path.join(dir, 'tftp'))}] }`,
    `http: { port: 8080, asset_roots: [${JSON.stringify(path.join(dir, 'assets'))}] }`,
    'registry: { database: ./pxed.db }',
    'admin: { token_file: ./admin.token }',
    'provisioning: { defaults: ./defaults.yaml, vm_specs: ./vm_specs.yaml, install_config: ./install_config.yaml }',
    extra,
  ].join('\n');
}

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-ops17-reload-'));
  for (const f of ['defaults.yaml', 'vm_specs.yaml', 'install_config.yaml']) copyFileSync(fixtures('config', 'base', f), path.join(dir, f));
  payload = randomBytes(SIZE);
  big = Buffer.concat(Array.from({ length: BIG / SIZE }, () => randomBytes(SIZE)));
  mkdirSync(path.join(dir, 'tftp'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'tftp', 'big.bin'), payload);
  writeFileSync(path.join(dir, 'assets', 'big.bin'), big);
  server = new Netns('pxr');
  client = new Netns('pxq');
  vethPair(server, 'eth0', `${SERVER}/24`, client, 'eth0', '10.66.0.9/24');
});

after(async () => {
  await server.destroy();
  await client.destroy();
  rmSync(dir, { recursive: true, force: true });
});

interface Daemon {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

async function startPxed(): Promise<Daemon> {
  const child = server.spawn('node', [cliMain, 'serve', '--config', path.join(dir, 'pxed.yaml')], { detached: false });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor('pxed ready', () => log.includes('"pxed ready"'), 20_000);
  return { child, log: () => log, exited };
}

/** A rate-limited fetch from the client namespace; resolves with curl's exit code and the sha256 of what arrived. */
function fetchSlow(url: string, rate: string, extra: string[] = []): { done: Promise<{ code: number | null; bytes: number; sha: string }> } {
  const child = client.spawn('curl', ['-s', '--limit-rate', rate, ...extra, url], { detached: false });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => chunks.push(d));
  child.stderr!.resume();
  const done = new Promise<{ code: number | null; bytes: number; sha: string }>((resolve) => {
    child.once('exit', (code) => {
      const all = Buffer.concat(chunks);
      resolve({ code, bytes: all.length, sha: createHash('sha256').update(all).digest('hex') });
    });
  });
  return { done };
}

const lines = (log: string, msg: string): Record<string, unknown>[] =>
  log
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

void test('SIGHUP applies a new config without dropping a TFTP transfer or an HTTP download; an invalid one is refused; SIGTERM drains', async () => {
  writeFileSync(path.join(dir, 'pxed.yaml'), config(10));
  const want = createHash('sha256').update(payload).digest('hex');
  const wantBig = createHash('sha256').update(big).digest('hex');
  const d = await startPxed();
  // alpha's machine boots: its script arms an install (registered → booting), so it has a history.
  assert.match(client.exec('curl', ['-s', `http://${SERVER}:8080/ipxe/52:54:00:00:00:01`]), /^#!ipxe/);

  const t0 = Date.now();
  const tftp = fetchSlow(`tftp://${SERVER}/big.bin`, '300k', ['--tftp-blksize', '1024']);
  const http = fetchSlow(`http://${SERVER}:8080/assets/big.bin`, '8M');
  await new Promise((r) => setTimeout(r, 700));

  // (1) alpha's MAC changes to :03 and beta leaves the config.
  const vms = readFileSync(fixtures('config', 'base', 'vm_specs.yaml'), 'utf8').replace('52:54:00:00:00:01', '52:54:00:00:00:03');
  writeFileSync(path.join(dir, 'vm_specs.yaml'), vms.slice(0, vms.indexOf('  - name: beta')));
  const inst = readFileSync(fixtures('config', 'base', 'install_config.yaml'), 'utf8');
  writeFileSync(path.join(dir, 'install_config.yaml'), inst.slice(0, inst.indexOf('  beta:')));
  d.child.kill('SIGHUP');
  await waitFor('reloaded', () => d.log().includes('"configuration reloaded"'), 10_000);
  const reloaded = lines(d.log(), 'configuration reloaded')[0]!;
  assert.deepEqual([reloaded.added, reloaded.removed, reloaded.changed], [[], ['beta'], ['alpha']]);
  assert.equal(lines(d.log(), 'registry: registered configured host').at(-1)?.mac, '52:54:00:00:00:03');
  assert.deepEqual(lines(d.log(), 'registry: removed a machine whose install entry left the config').map((l) => l.mac), ['52:54:00:00:00:02']);
  assert.equal(lines(d.log(), 'registry: machine kept although its install entry left the config (it has history); `pxed machines rm` deletes it')[0]?.mac, '52:54:00:00:00:01');
  const reloadMs = Date.now() - t0;

  // (2) an invalid daemon config: refused with its position, the old one keeps serving.
  writeFileSync(path.join(dir, 'pxed.yaml'), config(10, 'tftp_typo: 1'));
  d.child.kill('SIGHUP');
  await waitFor('refused', () => d.log().includes('"reload refused: the configuration is invalid'), 10_000);
  assert.match(JSON.stringify(lines(d.log(), 'reload refused: the configuration is invalid; the previous one keeps serving')[0]?.issues), /pxed\.yaml:8:1: tftp_typo: unknown key/);
  assert.match(client.exec('curl', ['-s', `http://${SERVER}:8080/readyz`]), /"ready"/);
  // The new host's script is served by the reloaded policy.
  assert.match(client.exec('curl', ['-s', `http://${SERVER}:8080/ipxe/52:54:00:00:00:03`]), /^#!ipxe/);

  // (3) SIGTERM while both transfers still run: they finish, then the daemon stops.
  await new Promise((r) => setTimeout(r, 300));
  const termAt = Date.now();
  d.child.kill('SIGTERM');
  const [t, h] = await Promise.all([tftp.done, http.done]);
  const code = await d.exited;
  const total = Date.now() - t0;
  assert.deepEqual([t.code, t.bytes, t.sha], [0, SIZE, want], 'the TFTP transfer survived the reloads and the stop');
  assert.deepEqual([h.code, h.bytes, h.sha], [0, BIG, wantBig], 'the HTTP download survived the reloads and the stop');
  assert.equal(code, 0, d.log().slice(-3000));
  const drained = lines(d.log(), 'drained');
  assert.equal(drained.length, 1);
  assert.ok(Number(drained[0]!.ms) > 200, `the stop waited for the transfers: ${String(drained[0]!.ms)} ms`);
  assert.ok(reloadMs < total && termAt - t0 < total - 200, `the transfers ran across the reload and the stop (reload at ${reloadMs} ms, SIGTERM at ${termAt - t0} ms, done at ${total} ms)`);
  console.log(
    `1 MiB over TFTP at 300 KB/s and 32 MiB over HTTP at 8 MB/s: reloads done at ${reloadMs} ms, SIGTERM at ${termAt - t0} ms, drain waited ${String(drained[0]!.ms)} ms, both complete, exit at ${total} ms`,
  );

  // The registry was closed cleanly (WAL checkpointed and removed) and holds the sync's result and events.
  const db = path.join(dir, 'pxed.db');
  assert.equal(existsSync(`${db}-wal`), false, 'no WAL left after a clean stop');
  const reg = openRegistry(db);
  try {
    assert.deepEqual(reg.machineList().map((m) => [m.mac, m.host, m.state]), [
      ['52:54:00:00:00:01', 'alpha', 'booting'],
      ['52:54:00:00:00:03', 'alpha', 'booting'],
    ]);
    const ev = reg.eventList('52:54:00:00:00:01').filter((e) => e.kind === 'config');
    assert.equal(ev.length, 1);
    assert.match(JSON.stringify(ev[0]!.detail), /"change":"orphaned".*now belongs to 52:54:00:00:00:03/);
  } finally {
    reg.close();
  }
});

void test('a drain deadline shorter than a download: the download is cut at the deadline and pxed stops', async () => {
  copyFileSync(fixtures('config', 'base', 'vm_specs.yaml'), path.join(dir, 'vm_specs.yaml'));
  copyFileSync(fixtures('config', 'base', 'install_config.yaml'), path.join(dir, 'install_config.yaml'));
  writeFileSync(path.join(dir, 'pxed.yaml'), config(1));
  const d = await startPxed();
  const http = fetchSlow(`http://${SERVER}:8080/assets/big.bin`, '2M');
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  d.child.kill('SIGTERM');
  const code = await d.exited;
  const stopMs = Date.now() - t0;
  const h = await http.done;
  assert.equal(code, 0, d.log().slice(-2000));
  assert.ok(h.bytes < BIG, `cut short: ${h.bytes} bytes`);
  assert.ok(stopMs >= 900 && stopMs < 5000, `stopped after the 1 s drain deadline: ${stopMs} ms`);
  console.log(`drain_seconds 1 with a 16 s download: stopped after ${stopMs} ms, ${h.bytes} of ${BIG} bytes sent`);
});
