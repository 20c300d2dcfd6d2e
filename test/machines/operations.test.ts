// The one set of machine operations over a real (in-memory) registry: the checks every caller gets, one
// transaction per operation, who asked on the timeline, and the start-up sync from the config.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError, type ErrorCode } from '../../src/errors.js';
import { MachineOperations, checkMachineInput } from '../../src/machines/operations.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import type { HostSpec } from '../../src/config/provisioning.js';
import { MAC, hostSpec } from '../boot/fixtures.js';

const code = (c: ErrorCode) => (e: unknown) => isPxedError(e, c);
const OTHER = '52:54:00:00:00:02';

function setup(hosts: HostSpec[] = [hostSpec('lab1', 'custom'), hostSpec('ubu1', 'ubuntu', { mac: null })]) {
  const registry = openRegistry(':memory:');
  const provisioning = {
    hostByName: (n: string) => hosts.find((h) => h.name === n) ?? null,
    hostByMac: (m: string) => hosts.find((h) => h.mac === m) ?? null,
  };
  const ops = new MachineOperations({ registry, provisioning, installMode: 'once' });
  return { registry, ops, provisioning, hosts };
}

void it('create checks the MAC, the entry, the MAC owner, mode and overrides before writing', () => {
  const { registry, ops, provisioning } = setup();
  assert.throws(() => ops.create({ mac: 'zz', host: 'lab1' }, 'api'), code('MACHINE_BAD_INPUT'));
  assert.throws(() => ops.create({ mac: OTHER, host: 'nope' }, 'api'), /unknown install entry "nope"/);
  // MAC belongs to lab1 in the config: the API and the CLI both refuse to give it to ubu1.
  assert.throws(() => ops.create({ mac: MAC, host: 'ubu1' }, 'api'), /belongs to "lab1"/);
  assert.throws(() => ops.create({ mac: OTHER, host: 'ubu1', installMode: 'twice' as 'once' }, 'cli'), code('MACHINE_BAD_INPUT'));
  assert.throws(() => ops.create({ mac: OTHER, host: 'ubu1', overrides: { efiBinary: '../x' } }, 'cli'), code('MACHINE_BAD_INPUT'));
  assert.equal(registry.machineList().length, 0);
  assert.equal(checkMachineInput(provisioning, { mac: '5254.0000.0002', host: 'ubu1' }).mac, OTHER);
  const m = ops.create({ mac: 'AA-BB-CC-00-00-01', host: 'ubu1' }, 'cli');
  assert.equal(m.state, 'registered');
  assert.throws(() => ops.create({ mac: m.mac, host: 'ubu1' }, 'api'), code('MACHINE_CONFLICT'));
  registry.close();
});

void it('a discovered machine is adopted by create, adopt or update, with who asked on its timeline', () => {
  const { registry, ops } = setup();
  registry.machineCreate({ mac: OTHER, host: null });
  assert.throws(() => ops.reinstall(OTHER, 'cli'), code('MACHINE_CONFLICT'));
  const m = ops.create({ mac: OTHER, host: 'ubu1' }, 'cli');
  assert.equal(m.state, 'registered');
  const last = registry.eventList(OTHER).at(-1)!;
  assert.equal(last.kind, 'state');
  assert.equal(last.kind === 'state' && last.detail.by, 'cli');
  assert.throws(() => ops.adopt(OTHER, 'ubu1', 'api'), code('MACHINE_CONFLICT'));
  registry.machineCreate({ mac: '52:54:00:00:00:03', host: null });
  assert.equal(ops.adopt('52:54:00:00:00:03', 'ubu1', 'orchestrator').host, 'ubu1');
  registry.machineCreate({ mac: '52:54:00:00:00:04', host: null });
  assert.equal(ops.update('52:54:00:00:00:04', { host: 'ubu1' }, 'api').state, 'registered');
  assert.equal(ops.update('52:54:00:00:00:04', { installMode: 'always' }, 'api').installMode, 'always');
  assert.throws(() => ops.get('52:54:00:00:00:09'), code('MACHINE_NOT_FOUND'));
  assert.throws(() => ops.list({ state: 'bogus' }), code('MACHINE_BAD_INPUT'));
  ops.remove('52:54:00:00:00:04');
  assert.throws(() => ops.remove('52:54:00:00:00:04'), code('MACHINE_NOT_FOUND'));
  registry.close();
});

void it('reinstall re-arms and revokes live tokens in the same transaction', () => {
  const { registry, ops } = setup();
  ops.create({ mac: MAC, host: 'lab1' }, 'api');
  registry.machineTransition(MAC, 'booting', 'test');
  const t = new Date().toISOString();
  registry.tokenInsert({ hash: 'a'.repeat(64), mac: MAC, bootId: 'b1', createdAt: t, expiresAt: '2999-01-01T00:00:00.000Z', revokedAt: null });
  const m = ops.reinstall(MAC, 'api', 'operator asked');
  assert.equal(m.state, 'registered');
  assert.notEqual(registry.tokenGet('a'.repeat(64))?.revokedAt, null);
  const ev = registry.eventList(MAC).at(-1)!;
  assert.deepEqual(ev.kind === 'state' && [ev.detail.reason, ev.detail.by, ev.detail.tokensRevoked], ['operator asked', 'api', 1]);
  registry.close();
});

void it('syncFromConfig registers configured PXE hosts and follows renames; the config wins', () => {
  const hosts = [hostSpec('lab1', 'custom'), hostSpec('iso1', 'ubuntu', { mac: OTHER, boot_method: 'iso' })];
  const { registry, ops } = setup(hosts);
  const none = { created: [], renamed: [], modeChanged: [], removed: [], orphaned: [] };
  assert.deepEqual(ops.syncFromConfig(hosts), { ...none, created: [MAC] });
  assert.deepEqual(ops.syncFromConfig(hosts), none);
  registry.machineDelete(MAC);
  registry.machineCreate({ mac: MAC, host: null });
  assert.deepEqual(ops.syncFromConfig(hosts), { ...none, renamed: [MAC] });
  assert.equal(registry.machineGet(MAC)?.state, 'registered');
  assert.equal(registry.machineGet(OTHER), null, 'iso hosts are not netbooted');
  const ev = registry.eventList(MAC).filter((e) => e.kind === 'config');
  assert.deepEqual(ev.map((e) => e.kind === 'config' && [e.detail.change, e.detail.host]), [['entry', 'lab1']]);
  registry.close();
});

void it('syncFromConfig: a changed MAC, a removed entry and a changed install mode, each with its timeline trace', () => {
  const M1 = '52:54:00:00:00:11';
  const M2 = '52:54:00:00:00:12';
  const M3 = '52:54:00:00:00:13';
  const before = [hostSpec('a', 'custom', { mac: M1 }), hostSpec('b', 'custom', { mac: M2 }), hostSpec('t', 'ubuntu', { mac: null })];
  const { registry, ops } = setup(before);
  ops.syncFromConfig(before);
  ops.create({ mac: M3, host: 't' }, 'api');
  registry.machineTransition(M2, 'booting', 'test'); // b has a history now
  // a gets install_mode always; b's entry leaves the config; t (no MAC) is untouched.
  const after1 = [hostSpec('a', 'custom', { mac: M1, install_mode: 'always' }), hostSpec('t', 'ubuntu', { mac: null })];
  const r1 = ops.syncFromConfig(after1);
  assert.deepEqual(r1, { created: [], renamed: [], modeChanged: [M1], removed: [], orphaned: [M2] });
  assert.equal(registry.machineGet(M1)?.installMode, 'always');
  assert.equal(registry.machineGet(M2)?.state, 'booting', 'a machine with history is kept');
  assert.equal(registry.machineGet(M3)?.host, 't', 'machines of entries without a MAC are left alone');
  // Flagged once: the same finding again adds no event.
  ops.syncFromConfig(after1);
  const flags = registry.eventList(M2).filter((e) => e.kind === 'config');
  assert.equal(flags.length, 1);
  assert.match(JSON.stringify(flags[0]!.detail), /"change":"orphaned".*"reason":"install entry b is no longer in the config"/);
  // a's MAC changes to a new one: the old row was only registered, so it goes; the new one is registered.
  const M4 = '52:54:00:00:00:14';
  const r2 = ops.syncFromConfig([hostSpec('a', 'custom', { mac: M4, install_mode: 'always' }), hostSpec('t', 'ubuntu', { mac: null })]);
  assert.deepEqual(r2, { created: [M4], renamed: [], modeChanged: [], removed: [M1], orphaned: [M2] });
  assert.equal(registry.machineGet(M1), null);
  assert.equal(registry.machineGet(M4)?.installMode, 'always');
  registry.close();
});

void it("a MAC the entry's configuration does not name is refused with the reason unless forced (create, adopt, update)", () => {
  const named = hostSpec('web1', 'ubuntu', { mac: '52:54:00:00:00:10' });
  const byName = hostSpec('web2', 'ubuntu', { mac: '52:54:00:00:00:20' });
  byName.install.network.interfaces = ['eth0'];
  const { registry, ops } = setup([named, byName]);
  const mismatch = (e: unknown) => isPxedError(e, 'MACHINE_MAC_MISMATCH') && /configures the NIC 52:54:00:00:00:10, not 52:54:00:00:00:02: .*unreachable/.test(e.message);
  assert.throws(() => ops.create({ mac: OTHER, host: 'web1' }, 'api'), mismatch);
  assert.equal(registry.machineList().length, 0);
  assert.equal(ops.create({ mac: OTHER, host: 'web1', force: true }, 'api').host, 'web1');
  // Interfaces matched by name: any machine fits the entry.
  assert.equal(ops.create({ mac: '52:54:00:00:00:03', host: 'web2' }, 'cli').host, 'web2');
  registry.machineCreate({ mac: '52:54:00:00:00:04', host: null });
  assert.throws(() => ops.adopt('52:54:00:00:00:04', 'web1', 'cli'), code('MACHINE_MAC_MISMATCH'));
  assert.throws(() => ops.update('52:54:00:00:00:04', { host: 'web1' }, 'api'), code('MACHINE_MAC_MISMATCH'));
  assert.equal(ops.adopt('52:54:00:00:00:04', 'web1', 'cli', { force: true }).state, 'registered');
  registry.close();
});

void it('recordPostInstall: the event with who asked, and the state it implies in the same transaction', () => {
  const { registry, ops } = setup();
  const m = ops.create({ mac: OTHER, host: 'ubu1' }, 'cli');
  assert.throws(() => ops.recordPostInstall(m.mac, { phase: 'done' as 'ok' }, 'api'), code('MACHINE_BAD_INPUT'));
  assert.throws(() => ops.recordPostInstall('52:54:00:00:00:09', { phase: 'ok' }, 'api'), code('MACHINE_NOT_FOUND'));
  registry.machineCreate({ mac: '52:54:00:00:00:03', host: null });
  assert.throws(() => ops.recordPostInstall('52:54:00:00:00:03', { phase: 'started' }, 'api'), code('MACHINE_CONFLICT'));
  // Not installed yet: recorded, state kept.
  assert.equal(ops.recordPostInstall(m.mac, { phase: 'started' }, 'orchestrator').state, 'registered');
  registry.machineTransition(m.mac, 'booting', 't');
  registry.machineTransition(m.mac, 'installed', 't');
  assert.equal(ops.recordPostInstall(m.mac, { phase: 'started', host: 'ubu1' }, 'api').state, 'post-installing');
  const stats = { ok: 3, changed: 1, unreachable: 0, failed: 1, skipped: 0 };
  assert.equal(ops.recordPostInstall(m.mac, { phase: 'failed', stats, error: 'task "x": boom' }, 'api').state, 'failed');
  const post = registry.eventList(m.mac).filter((e) => e.kind === 'post-install').map((e) => e.detail);
  assert.deepEqual(post.map((d) => [d.phase, d.by]), [['started', 'orchestrator'], ['started', 'api'], ['failed', 'api']]);
  assert.deepEqual(post[2]!.stats, stats);
  const last = registry.eventList(m.mac).filter((e) => e.kind === 'state').at(-1)!;
  assert.deepEqual(last.kind === 'state' && [last.detail.to, last.detail.by, last.detail.stage], ['failed', 'api', 'post-install']);
  registry.close();
});
