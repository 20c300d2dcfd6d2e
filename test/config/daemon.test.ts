// Daemon config: defaults, strictness, admin token source, relative paths, CLI overrides, server address choice.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError } from '../../src/errors.js';
import { resolveServerAddress, type NetworkInterfaces } from '../../src/config/daemon.js';
import { loadDaemonConfig, parseDaemonConfig, type ConfigIssue } from '../../src/config/load.js';
import { repoRoot } from '../helpers/paths.js';

function issues(text: string): ConfigIssue[] {
  try {
    parseDaemonConfig(text, '/etc/pxed/pxed.yaml');
  } catch (err) {
    assert.ok(isPxedError(err, 'CONFIG_INVALID'), String(err));
    return err.details!.issues as ConfigIssue[];
  }
  assert.fail('expected CONFIG_INVALID');
}

void describe('daemon config schema', () => {
  void it('fills every default from a minimal file and resolves paths against the file directory', () => {
    const c = parseDaemonConfig('admin: { token_env: PXED_ADMIN_TOKEN }\n', '/etc/pxed/pxed.yaml');
    assert.equal(c.dhcp.mode, 'proxy');
    assert.equal(c.dhcp.port, 67);
    assert.equal(c.dhcp.boot_server_port, 4011);
    assert.deepEqual(c.dhcp.vendor_prefixes, ['PXEClient', 'HTTPClient']);
    assert.equal(c.dhcp.uefi_strategy, 'binl');
    assert.deepEqual(c.tftp, { enabled: true, port: 69, roots: ['/usr/lib/ipxe'], max_blksize: 1468, max_transfers: 200, max_per_client: 8, timeout_ms: 1000, retries: 5, cache_mb: 64, signed_roots: ['/usr/lib/shim', '/usr/lib/grub/x86_64-efi-signed', '/usr/lib/grub/arm64-efi-signed'] });
    assert.deepEqual(c.http, { port: 8080, asset_roots: [], limits: {} });
    assert.equal(c.registry.database, '/etc/pxed/var/pxed.db');
    assert.deepEqual(c.policy, {
      unknown_macs: 'ignore',
      install_mode: 'once',
      install_watchdog_minutes: 60,
      token_ttl_minutes: 240,
      script_mints_per_minute: 4,
      bind_tokens: true,
      limits: { writes_per_mac_per_minute: 60, writes_per_address_per_minute: 120, discoveries_per_minute: 120, max_discovered: 1024 },
      local_boot: { bios: 'sanboot', efi: 'exit' },
    });
    assert.deepEqual(c.provisioning, {
      defaults: '/etc/pxed/defaults.yaml',
      vm_specs: '/etc/pxed/vm_specs.yaml',
      install_config: '/etc/pxed/install_config.yaml',
    });
    assert.equal(c.log.level, 'info');
    assert.ok(Object.isFrozen(c.tftp.roots));
  });

  void it('needs exactly one admin token source and never an inline token', () => {
    for (const admin of ['{}', '{ token_file: a, token_env: B }']) {
      const i = issues(`admin: ${admin}\n`);
      assert.equal(i.length, 1);
      assert.equal(i[0]!.path, 'admin');
      assert.match(i[0]!.message, /exactly one of token_file or token_env/);
    }
    const inline = issues('admin:\n  token_env: X\n  token: hunter2\n');
    assert.deepEqual(inline.map((i) => [i.line, i.col, i.path]), [[3, 3, 'admin.token']]);
    assert.deepEqual(issues('log: {level: info}\n').map((i) => i.path), ['admin']);
  });

  void it('reports all problems with positions', () => {
    const i = issues(
      [
        'admin: { token_env: T }',
        'dhcp:',
        '  mode: full',
        '  full: { range_start: 192.0.2.10, range_end: 192.0.3.5, subnet: 192.0.2.0/24 }',
        'tftp: { port: "69", max_blksize: 4 }',
        'policy: { unknown_macs: maybe }',
        'sever: {}',
      ].join('\n'),
    );
    assert.deepEqual(
      i.map((x) => `${x.line}:${x.col} ${x.path}`),
      ['4:47 dhcp.full.range_end', '5:15 tftp.port', '5:34 tftp.max_blksize', '6:25 policy.unknown_macs', '7:1 sever'],
    );
    assert.match(i[0]!.message, /inside subnet 192\.0\.2\.0\/24/);
    assert.match(i[4]!.message, /unknown key "sever"; expected one of server, dhcp, tftp/);
    assert.deepEqual(issues('admin: { token_env: T }\ndhcp: { mode: full }\n').map((x) => x.path), ['dhcp.full']);
  });

  void it('a commented-out section reads as absent', () => {
    const c = parseDaemonConfig('server:\n  # interface: eth0\nadmin: { token_env: T }\n', '/x/pxed.yaml');
    assert.deepEqual(c.server, { drain_seconds: 10 });
  });
});

void describe('loadDaemonConfig', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-daemon-'));
    writeFileSync(path.join(dir, 'pxed.yaml'), 'admin: { token_file: ./secret/admin.token }\ntftp: { roots: [/usr/lib/ipxe, tftp] }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('resolves relative paths against the config directory, absolute ones stay', () => {
    const c = loadDaemonConfig(path.join(dir, 'pxed.yaml'));
    assert.equal(c.admin.token_file, path.join(dir, 'secret/admin.token'));
    assert.deepEqual(c.tftp.roots, ['/usr/lib/ipxe', path.join(dir, 'tftp')]);
  });

  void it('applies command-line overrides (paths relative to cwd) and validates them', () => {
    const c = loadDaemonConfig(path.join(dir, 'pxed.yaml'), {
      interface: 'veth0',
      address: '192.0.2.2',
      http_port: 0,
      tftp_roots: ['a', '/b'],
      database: 'db/x.db',
      install_config: '-',
      cwd: '/srv',
    });
    assert.deepEqual(c.server, { interface: 'veth0', address: '192.0.2.2', drain_seconds: 10 });
    assert.equal(c.http.port, 0);
    assert.deepEqual(c.tftp.roots, ['/srv/a', '/b']);
    assert.equal(c.registry.database, '/srv/db/x.db');
    assert.equal(c.provisioning.install_config, '-');
    assert.throws(
      () => loadDaemonConfig(path.join(dir, 'pxed.yaml'), { address: '192.0.2', http_port: 70000 }),
      (err: unknown) =>
        isPxedError(err, 'CONFIG_INVALID') && /<command line>: --address: expected an IPv4/.test(err.message) && /<command line>: --http-port: /.test(err.message),
    );
  });

  void it('an unreadable file is a CONFIG_INVALID naming it', () => {
    assert.throws(() => loadDaemonConfig(path.join(dir, 'missing.yaml')), (err: unknown) => isPxedError(err, 'CONFIG_INVALID') && err.message.includes('missing.yaml: cannot read file'));
  });

  void it('the shipped configs/pxed.yaml is valid and keeps the token out of the file', () => {
    const c = loadDaemonConfig(path.join(repoRoot, 'configs/pxed.yaml'));
    assert.equal(c.policy.unknown_macs, 'discover');
    assert.ok(c.tftp.roots.includes('/usr/lib/ipxe'));
    assert.ok(c.admin.token_file !== undefined || c.admin.token_env !== undefined);
    assert.equal(c.provisioning.defaults, path.join(repoRoot, 'configs/defaults.yaml'));
  });
});

void describe('resolveServerAddress', () => {
  const ifs: NetworkInterfaces = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    eth0: [
      { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '52:54:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
      { address: '192.0.2.5', netmask: '255.255.255.0', family: 'IPv4', mac: '52:54:00:00:00:01', internal: false, cidr: '192.0.2.5/24' },
    ],
    eth1: [{ address: '198.51.100.5', netmask: '255.255.255.0', family: 'IPv4', mac: '52:54:00:00:00:02', internal: false, cidr: '198.51.100.5/24' }],
  };

  void it('prefers server.address, then the interface, then the first non-internal IPv4 (and says which)', () => {
    assert.equal(resolveServerAddress({ address: '203.0.113.1', interface: 'eth1' }, ifs).address, '203.0.113.1');
    assert.deepEqual(resolveServerAddress({ interface: 'eth1' }, ifs), { address: '198.51.100.5', interface: 'eth1', reason: 'first IPv4 address of eth1' });
    const auto = resolveServerAddress({}, ifs);
    assert.equal(auto.address, '192.0.2.5');
    assert.equal(auto.interface, 'eth0');
    assert.match(auto.reason, /picked eth0/);
  });

  void it('fails with CONFIG_INVALID when nothing fits', () => {
    assert.throws(() => resolveServerAddress({ interface: 'eth9' }, ifs), (e: unknown) => isPxedError(e, 'CONFIG_INVALID'));
    assert.throws(() => resolveServerAddress({}, { lo: ifs.lo }), (e: unknown) => isPxedError(e, 'CONFIG_INVALID'));
  });
});
