// The app's wiring without root: the start order (nothing is offered before it can be served: DHCP after TFTP and
// HTTP, the watchdog last) and a start/stop of the services that need no privileged port.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { daemonConfigSchema } from '../src/config/daemon.js';
import { loadProvisioning } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { repoRoot } from './helpers/paths.js';

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
    assert.deepEqual(app.services.names, ['registry', 'http', 'tftp', 'dhcp', 'watchdog', 'retention']);
    app.registry.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void it('starts and stops without root when DHCP and TFTP are off', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-app-'));
  try {
    const app = await setup(false, dir);
    assert.deepEqual(app.services.names, ['registry', 'http', 'watchdog', 'retention']);
    assert.equal(app.ready(), false);
    await app.start();
    assert.equal(app.ready(), true);
    assert.equal(await app.stop(2000), true);
    assert.equal(app.ready(), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
