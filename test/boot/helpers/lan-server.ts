// Test fixture process for the hostile-LAN tests (issue 14): the real BootPolicy behind pxed's real DHCP service
// (proxy mode) and HTTP app, run inside a server namespace the test created. One registered machine (`mac`, install
// entry ubu1, Ubuntu-like stub profile); the rest comes from argv[2] (JSON ServerConfig). Prints {"ev":"ready"} once
// both listen; SIGTERM stops it. The test reads the registry back through the admin API (ADMIN_TOKEN).

import { DhcpService } from '../../../src/dhcp/server.js';
import { buildHttpApp } from '../../../src/http/app.js';
import { describeError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { BootSettings } from '../../../src/boot/settings.js';
import { ADMIN_TOKEN } from '../../http/fakes.js';
import { hostSpec, rig } from '../fixtures.js';

export interface ServerConfig {
  address: string;
  httpPort: number;
  mac: string;
  settings?: Partial<BootSettings>;
  /** Served under /assets/. */
  assetRoot?: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
const out = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

const r = rig({ serverAddress: cfg.address, httpPort: cfg.httpPort, ...cfg.settings }, [hostSpec('ubu1', 'ubuntu', { mac: cfg.mac })]);
r.registry.machineCreate({ mac: cfg.mac, host: 'ubu1', state: 'registered' });
const dhcp = new DhcpService({
  interface: 'eth0',
  address: cfg.address,
  mode: 'proxy',
  policy: r.policy,
  log: silentLogger,
  onFatal: (err) => {
    out({ ev: 'fatal', err: describeError(err) });
    process.exit(3);
  },
});
const app = buildHttpApp({ policy: r.policy, admin: r.admin, assetRoots: cfg.assetRoot === undefined ? [] : [cfg.assetRoot], ipxeBinRoots: [], adminToken: ADMIN_TOKEN, logger: silentLogger, ready: () => true });

process.on('SIGTERM', () => {
  void Promise.all([dhcp.stop(), app.close()]).then(() => {
    r.close();
    process.exit(0);
  });
});

try {
  await dhcp.start();
  await app.listen({ host: cfg.address, port: cfg.httpPort });
  out({ ev: 'ready' });
} catch (err) {
  out({ ev: 'error', err: describeError(err) });
  process.exit(2);
}
