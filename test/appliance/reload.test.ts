// The pure half of SIGHUP reload: which changed settings need a restart, and which hosts changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedPaths, hostChanges, restartOnlyChanges } from '../../src/appliance/reload.js';
import { parseDaemonConfig } from '../../src/config/load.js';
import { hostSpec } from '../boot/fixtures.js';

const cfg = (extra: string) => parseDaemonConfig(`admin: { token_env: PXED_TOKEN }\n${extra}`, '/etc/pxed/pxed.yaml');

void test('changedPaths lists the differing leaves; arrays compare whole', () => {
  assert.deepEqual(changedPaths({ a: 1, b: { c: [1, 2], d: 'x' } }, { a: 1, b: { c: [1, 3], d: 'x', e: true } }), ['b.c', 'b.e']);
  assert.deepEqual(changedPaths({ a: { b: 1 } }, { a: { b: 1 } }), []);
});

void test('policy, dhcp.uefi_strategy and the provisioning paths reload; everything bound at start waits for a restart', () => {
  const rows: [string, string[]][] = [
    ['policy: { unknown_macs: discover, install_mode: always, token_ttl_minutes: 5 }', []],
    ['dhcp: { uefi_strategy: direct }', []],
    ['provisioning: { install_config: /srv/other.yaml }', []],
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
