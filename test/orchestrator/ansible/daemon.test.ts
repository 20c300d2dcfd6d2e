// The daemon's post-install service on a real SQLite registry, running the real stage (inventory, runner, log)
// with a stand-in ansible-playbook on PATH that prints the json callback's document (the real playbook run is
// chroot.test.ts): installed → post-installing → configured/failed with timeline events, bounded concurrency,
// shutdown kills the run, and a restart marks an interrupted run failed instead of leaving it silent.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostSpec } from '../../../src/config/provisioning.js';
import { silentLogger } from '../../../src/log.js';
import { MachineOperations } from '../../../src/machines/operations.js';
import { PostInstallService, POST_INSTALL_EVENT } from '../../../src/orchestrator/ansible/daemon.js';
import { hostPaths, runPostInstall } from '../../../src/orchestrator/ansible/stage.js';
import { openRegistry, type SqliteRegistry } from '../../../src/registry/sqlite.js';
import type { MachineState } from '../../../src/model/machine.js';
import { fakeCommand, scratch, webHost, withPath } from './fixtures.js';

const STATS = (host: string, failures: number): string =>
  JSON.stringify({ plays: [], stats: { [host]: { ok: 12, changed: 3, unreachable: 0, failures, skipped: 2, rescued: 0, ignored: 0 } } });

/** A stand-in ansible-playbook: sleeps, counts concurrent runs, prints stats for the host in the inventory. */
function fakeAnsible(sleepS: number, failures = 0): string {
  return fakeCommand(
    'ansible-playbook',
    `#!/bin/sh
inv="$2"
host=$(grep -o '"[a-z0-9-]*": {$' "$inv" | tail -1 | tr -d '": {')
echo start >> "$HOME/../runs"
n=$(ls "$HOME/../" | grep -c '^running-' || true); echo "$n" >> "$HOME/../peaks"
touch "$HOME/../running-$$"
sleep ${sleepS}
rm -f "$HOME/../running-$$"
cat <<J
${STATS('HOST', failures).replace('"HOST"', '"$host"')}
J
`,
  );
}

interface Rig {
  reg: SqliteRegistry;
  svc: PostInstallService;
  build: string;
  state: string;
  dbFile: string;
}

function rig(bin: string, hosts: HostSpec[], concurrency = 2, dbFile = path.join(scratch('db'), 'pxed.db'), wants = (_h: HostSpec) => true): Rig {
  const reg = openRegistry(dbFile);
  const build = scratch('build');
  const state = scratch('state');
  const hostByName = (n: string): HostSpec | null => hosts.find((h) => h.name === n) ?? null;
  const ops = new MachineOperations({ registry: reg, provisioning: { hostByName }, installMode: 'once' });
  const svc = new PostInstallService({
    registry: reg,
    record: (mac, report) => ops.recordPostInstall(mac, report, 'daemon'),
    hostByName,
    wants,
    connection: (_h, m) => (m.ip === null ? null : { kind: 'ssh', address: m.ip, user: 'devops' }),
    run: (h, conn, signal) => runPostInstall(h, conn, hostPaths(build, h.name), { stateDir: state, env: withPath(bin) }, signal),
    concurrency,
    log: silentLogger,
  });
  return { reg, svc, build, state, dbFile };
}

function host(name: string): HostSpec {
  return { ...webHost(), name };
}

function install(reg: SqliteRegistry, mac: string, name: string): void {
  if (reg.machineGet(mac) === null) reg.machineCreate({ mac, host: name, state: 'registered' });
  reg.machineUpdate(mac, { ip: '192.0.2.10' });
  reg.machineTransition(mac, 'booting', 'iPXE install script rendered');
  reg.machineTransition(mac, 'installed', 'phone-home');
}

async function waitState(reg: SqliteRegistry, mac: string, want: MachineState, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (reg.machineGet(mac)?.state === want) return;
  assert.fail(`${mac} never reached ${want} (is ${reg.machineGet(mac)?.state})`);
}

const phases = (reg: SqliteRegistry, mac: string): unknown[] => reg.eventList(mac).flatMap((e) => (e.kind === POST_INSTALL_EVENT ? [e.detail.phase] : []));

void test('installed → post-installing → configured, three hosts at most two at a time, stats and log on the timeline', async () => {
  const hosts = [host('web-01'), host('web-02'), host('web-03')];
  const r = rig(fakeAnsible(0.5), hosts, 2);
  await r.svc.start();
  const macs = ['52:54:00:00:15:01', '52:54:00:00:15:02', '52:54:00:00:15:03'];
  macs.forEach((m, i) => install(r.reg, m, hosts[i]!.name));
  for (const m of macs) await waitState(r.reg, m, 'configured');
  const states = r.reg.eventList(macs[0]!).filter((e) => e.kind === 'state').map((e) => e.detail.to);
  assert.deepEqual(states.slice(-3), ['installed', 'post-installing', 'configured']);
  assert.deepEqual(phases(r.reg, macs[0]!), ['started', 'ok']);
  const ok = r.reg.eventList(macs[0]!).find((e) => e.kind === POST_INSTALL_EVENT && e.detail.phase === 'ok')!;
  assert.deepEqual(ok.detail.stats, { ok: 12, changed: 3, unreachable: 0, failed: 0, skipped: 2, rescued: 0, ignored: 0 });
  // Written by the one machine operation (recordPostInstall), as `pxed provision`'s results are, with the daemon as actor.
  assert.equal(ok.detail.by, 'daemon');
  const last = r.reg.eventList(macs[0]!).filter((e) => e.kind === 'state').at(-1)!;
  assert.equal(last.detail.reason, 'post-install ok (daemon)');
  assert.equal(last.detail.by, 'daemon');
  assert.equal(ok.detail.logPath, path.join(r.build, 'web-01', 'logs', 'post.log'));
  assert.ok(existsSync(path.join(r.build, 'web-02', 'ansible', 'inventory.yaml')));
  const peaks = readFileSync(path.join(r.state, 'peaks'), 'utf8').trim().split('\n').map(Number);
  assert.equal(peaks.length, 3);
  assert.ok(Math.max(...peaks) <= 1, `at most one other run alongside: ${peaks.join(',')}`);
  await r.svc.stop();
  r.reg.close();
});

void test('a failed run moves the machine to failed with the error and stats; unwanted hosts stay installed', async () => {
  const hosts = [host('web-01'), host('db-01')];
  const r = rig(fakeAnsible(0, 1), hosts, 2, undefined, (h) => h.name === 'web-01');
  await r.svc.start();
  install(r.reg, '52:54:00:00:15:11', 'web-01');
  install(r.reg, '52:54:00:00:15:12', 'db-01');
  await waitState(r.reg, '52:54:00:00:15:11', 'failed');
  const failed = r.reg.eventList('52:54:00:00:15:11').find((e) => e.detail.phase === 'failed')!;
  assert.equal(failed.detail.error, 'play recap: failed=1 unreachable=0');
  assert.equal((failed.detail.stats as { failed: number }).failed, 1);
  await sleep(200);
  assert.equal(r.reg.machineGet('52:54:00:00:15:12')?.state, 'installed');
  assert.deepEqual(phases(r.reg, '52:54:00:00:15:12'), []);
  await r.svc.stop();
  r.reg.close();
});

void test('stop kills a running ansible-playbook; the next start marks the run interrupted and failed', async () => {
  const hosts = [host('web-01')];
  const r = rig(fakeAnsible(60), hosts, 1);
  await r.svc.start();
  const mac = '52:54:00:00:15:21';
  install(r.reg, mac, 'web-01');
  await waitState(r.reg, mac, 'post-installing');
  for (let i = 0; i < 100 && !existsSync(path.join(r.state, 'runs')); i++) await sleep(50);
  const t0 = Date.now();
  await r.svc.stop();
  assert.ok(Date.now() - t0 < 8000, 'stop waits only for the kill');
  assert.equal(r.reg.machineGet(mac)?.state, 'post-installing');
  assert.deepEqual(phases(r.reg, mac), ['started', 'interrupted']);
  r.reg.close();

  const again = rig(fakeAnsible(0), hosts, 1, r.dbFile);
  await again.svc.start();
  assert.equal(again.reg.machineGet(mac)?.state, 'failed');
  assert.deepEqual(phases(again.reg, mac), ['started', 'interrupted', 'interrupted']);
  const last = again.reg.eventList(mac).filter((e) => e.kind === 'state').at(-1)!;
  assert.equal(last.detail.reason, 'post-install interrupted by a daemon restart');
  await again.svc.stop();
  again.reg.close();
});

void test('a machine installed while the daemon was down is picked up at start-up', async () => {
  const hosts = [host('web-01')];
  const dbFile = path.join(scratch('db'), 'pxed.db');
  const reg = openRegistry(dbFile);
  install(reg, '52:54:00:00:15:31', 'web-01');
  reg.close();
  const r = rig(fakeAnsible(0), hosts, 1, dbFile);
  await r.svc.start();
  await waitState(r.reg, '52:54:00:00:15:31', 'configured');
  await r.svc.stop();
  r.reg.close();
});
