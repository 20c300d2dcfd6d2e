// The app's wiring without root: the start order (nothing is offered before it can be served: DHCP after TFTP and
// HTTP, the watchdog last, post-install after everything it writes through) and a start/stop of the services that
// need no privileged port; a reload hands the post-install stage the new provisioning and post_install settings.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { daemonConfigSchema } from '../src/config/daemon.js';
import { loadProvisioning } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixtures, repoRoot } from './helpers/paths.js';

const interfaces = { lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '127.0.0.1/8' }] } as const;

async function setup(enabled: boolean, dir: string) {
  const config = daemonConfigSchema.parse({
    server: { address: '127.0.0.1' },
    admin: { token_env: 'PXED_TEST_TOKEN' },
    http: { listen: '127.0.0.1', port: 0, asset_roots: [] },
    tftp: { enabled, roots: [dir] },
    dhcp: { enabled },
    registry: { database: path.join(dir, 'pxed.db') },
  });
  const provisioning = await loadProvisioning({
    defaults: path.join(repoRoot, 'configs', 'defaults.yaml'),
    vmSpecs: path.join(repoRoot, 'configs', 'vm_specs.yaml'),
    installConfig: path.join(repoRoot, 'configs', 'install_config.yaml'),
  });
  return buildApp({ config, provisioning, logger: silentLogger, env: { PXED_TEST_TOKEN: 'app-test-admin-token-0123456789abcdef' }, interfaces: interfaces as never });
}

void it('wires the services in start order: registry, http, tftp, dhcp, watchdog', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-app-'));
  try {
    const app = await setup(true, dir);
    assert.deepEqual(app.services.names, ['registry', 'http', 'tftp', 'dhcp', 'watchdog', 'retention', 'post-install']);
    app.registry.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void it('starts and stops without root when DHCP and TFTP are off', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-app-'));
  try {
    const app = await setup(false, dir);
    assert.deepEqual(app.services.names, ['registry', 'http', 'watchdog', 'retention', 'post-install']);
    assert.equal(app.ready(), false);
    await app.start();
    assert.equal(app.ready(), true);
    assert.equal(await app.stop(2000), true);
    assert.equal(app.ready(), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void it('reload: the post-install stage gets the new provisioning and post_install settings (off → on, new ansible user)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-app-'));
  // ansible-playbook stand-in (no target here): keeps the inventory and vars it was given, prints a recap.
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  const recap = JSON.stringify({ plays: [], stats: { beta: { ok: 2, changed: 1, unreachable: 0, failures: 0, skipped: 0 } } });
  writeFileSync(path.join(bin, 'ansible-playbook'), `#!/bin/sh\ncp "$2" "$HOME/inventory"\ncp "\${4#@}" "$HOME/vars"\ncat <<'J'\n${recap}\nJ\n`, { mode: 0o755 });
  for (const f of ['vm_specs.yaml', 'install_config.yaml']) copyFileSync(fixtures('config', 'base', f), path.join(dir, f));
  const base = readFileSync(fixtures('config', 'base', 'defaults.yaml'), 'utf8');
  const files = { defaults: path.join(dir, 'defaults.yaml'), vmSpecs: path.join(dir, 'vm_specs.yaml'), installConfig: path.join(dir, 'install_config.yaml') };
  const config = (postInstall: Record<string, unknown>) =>
    daemonConfigSchema.parse({
      server: { address: '127.0.0.1' },
      admin: { token_env: 'PXED_TEST_TOKEN' },
      http: { listen: '127.0.0.1', port: 0, asset_roots: [] },
      tftp: { enabled: false },
      dhcp: { enabled: false },
      registry: { database: path.join(dir, 'pxed.db') },
      post_install: { build_dir: path.join(dir, 'build'), state_dir: path.join(dir, 'state'), ...postInstall },
    });
  const provisioning = async (user: string) => {
    writeFileSync(files.defaults, `${base}\nansible: { user: ${user} }\n`);
    return loadProvisioning(files);
  };
  const env = { PXED_TEST_TOKEN: 'app-test-admin-token-0123456789abcdef', PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  const app = await buildApp({ config: config({}), provisioning: await provisioning('first'), logger: silentLogger, env, interfaces: interfaces as never });
  const BETA = '52:54:00:00:00:02';
  try {
    await app.start();
    app.registry.machineTransition(BETA, 'booting', 'test');
    app.registry.machineTransition(BETA, 'installed', 'test');
    await sleep(200);
    assert.equal(app.registry.machineGet(BETA)?.state, 'installed', 'post_install.hosts empty: nobody is configured');

    const r = await app.reload({ config: config({ hosts: ['beta'], timezone: 'Europe/Berlin' }), provisioning: await provisioning('second') });
    assert.deepEqual(r.restartOnly, []);
    for (const end = Date.now() + 20_000; app.registry.machineGet(BETA)?.state !== 'configured' && Date.now() < end; ) await sleep(50);
    assert.equal(app.registry.machineGet(BETA)?.state, 'configured');
    const home = path.join(dir, 'state', 'home');
    const inv = JSON.parse(readFileSync(path.join(home, 'inventory'), 'utf8')) as { all: { hosts: Record<string, Record<string, string>> } };
    assert.equal(inv.all.hosts.beta?.ansible_user, 'second', "defaults.yaml's ansible.user after the reload");
    assert.equal(inv.all.hosts.beta?.ansible_host, '192.0.2.10');
    assert.equal((JSON.parse(readFileSync(path.join(home, 'vars'), 'utf8')) as { pxed_timezone: string }).pxed_timezone, 'Europe/Berlin');
    const post = app.registry.eventList(BETA).filter((e) => e.kind === 'post-install').map((e) => e.detail.phase);
    assert.deepEqual(post, ['started', 'ok']);
    // Bound at start: a changed build_dir waits for a restart (and says so).
    const later = await app.reload({ config: config({ hosts: ['beta'], build_dir: path.join(dir, 'other') }), provisioning: await provisioning('second') });
    assert.deepEqual(later.restartOnly, ['post_install.build_dir']);
  } finally {
    await app.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  }
});
