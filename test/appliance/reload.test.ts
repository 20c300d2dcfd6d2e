// SIGHUP reload: which changed settings need a restart, which hosts changed, and reloadFromFiles refusing an
// invalid config (file:line:col) without touching the app.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { changedPaths, hostChanges, reloadFromFiles, restartOnlyChanges } from '../../src/appliance/reload.js';
import { createLogger } from '../../src/log.js';
import { fixtures } from '../helpers/paths.js';
import { parseDaemonConfig } from '../../src/config/load.js';
import { hostSpec } from '../boot/fixtures.js';

const cfg = (extra: string) => parseDaemonConfig(`admin: { token_env: PXED_TOKEN }\n${extra}`, '/etc/pxed/pxed.yaml');

void test('changedPaths lists the differing leaves; arrays compare whole', () => {
  assert.deepEqual(changedPaths({ a: 1, b: { c: [1, 2], d: 'x' } }, { a: 1, b: { c: [1, 3], d: 'x', e: true } }), ['b.c', 'b.e']);
  assert.deepEqual(changedPaths({ a: { b: 1 } }, { a: { b: 1 } }), []);
});

void test('policy, dhcp.uefi_strategy, post_install hosts/timezone/ntp and the provisioning paths reload; everything bound at start waits for a restart', () => {
  const rows: [string, string[]][] = [
    ['policy: { unknown_macs: discover, install_mode: always, token_ttl_minutes: 5 }', []],
    ['dhcp: { uefi_strategy: direct }', []],
    ['provisioning: { install_config: /srv/other.yaml }', []],
    ['post_install: { hosts: [web-01], timezone: Europe/Berlin, ntp_servers: [ntp.example] }', []],
    ['post_install: { concurrency: 4, build_dir: /srv/build }', ['post_install.build_dir', 'post_install.concurrency']],
    ['http: { port: 8081 }', ['http.port']],
    ['tftp: { roots: [/srv/tftp], max_blksize: 512 }', ['tftp.max_blksize', 'tftp.roots']],
    ['server: { address: 192.0.2.7, drain_seconds: 3 }', ['server.address', 'server.drain_seconds']],
    ['log: { level: debug }\nregistry: { database: /srv/x.db }', ['log.level', 'registry.database']],
  ];
  const base = cfg('');
  for (const [extra, want] of rows) assert.deepEqual(restartOnlyChanges(base, cfg(extra)), want, extra);
});

void test('hostChanges names added, removed and changed entries', () => {
  const a = hostSpec('a', 'ubuntu');
  const b = hostSpec('b', 'ubuntu', { mac: '52:54:00:00:00:0b' });
  const c = hostSpec('c', 'custom', { mac: null });
  const b2 = { ...b, mac: '52:54:00:00:00:0c' };
  assert.deepEqual(hostChanges([a, b], [a, b2, c]), { added: ['c'], removed: [], changed: ['b'] });
  assert.deepEqual(hostChanges([a, b], [b]), { added: [], removed: ['a'], changed: [] });
});

void test('reloadFromFiles: an invalid config is refused with file:line:col and the app is not touched; a valid one is applied and logged', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-ops17-reload-'));
  try {
    for (const f of ['defaults.yaml', 'vm_specs.yaml', 'install_config.yaml']) copyFileSync(fixtures('config', 'base', f), path.join(dir, f));
    const file = path.join(dir, 'pxed.yaml');
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const calls: unknown[] = [];
    const base = cfg('');
    const app = {
      snapshot: () => ({ config: base, provisioning: null as never }),
      reload: async (next: unknown) => {
        calls.push(next);
        return { restartOnly: ['http.port'], hosts: { added: ['x'], removed: [], changed: [] }, sync: { created: [], renamed: [], modeChanged: [], removed: [], orphaned: [] }, missingNetboot: [] };
      },
    };
    writeFileSync(file, 'admin: { token_env: T }\npolicy: { install_mode: sometimes }\n');
    assert.equal(await reloadFromFiles(app, { configFile: file, overrides: {} }, log), false);
    assert.equal(calls.length, 0);
    assert.match(JSON.stringify(lines.at(-1)?.issues), /pxed\.yaml:2:25: policy\.install_mode: expected one of/);
    writeFileSync(file, 'admin: { token_env: T }\nhttp: { port: 8081 }\n');
    assert.equal(await reloadFromFiles(app, { configFile: file, overrides: {} }, log), true);
    assert.equal(calls.length, 1);
    assert.ok(lines.some((l) => l.msg === 'configuration reloaded' && JSON.stringify(l.added) === '["x"]'));
    assert.ok(lines.some((l) => String(l.msg).includes('take effect only after a restart') && JSON.stringify(l.keys) === '["http.port"]'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
