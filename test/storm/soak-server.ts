// The real daemon's services (buildApp: registry, boot policy, HTTP, TFTP; DHCP off) in a process of their own on
// 127.0.0.1 with OS-chosen ports, for the fd-leak test and `npm run soak`: the process's own file descriptors,
// active handles, heap and RSS are measured without the load generator's allocations mixed in.
// Usage: node soak-server.js '{"dir": "<storm files dir written by writeStormFiles>"}'
// Prints {"tftp": port, "http": port}; a line "stats" on stdin prints one JSON line of figures (after a GC when
// run with --expose-gc); a line "quit" stops the app and exits.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { buildApp } from '../../src/app.js';
import { daemonConfigSchema } from '../../src/config/daemon.js';
import { loadProvisioning } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';

const { dir } = JSON.parse(process.argv[2] ?? '{}') as { dir: string };
const prov = path.join(dir, 'provisioning');
const config = daemonConfigSchema.parse({
  server: { address: '127.0.0.1' },
  admin: { token_file: path.join(dir, 'admin.token') },
  http: { listen: '127.0.0.1', port: 0, asset_roots: [path.join(dir, 'assets')], limits: { per_client_connections: 1024 } },
  tftp: { enabled: true, port: 0, roots: [path.join(dir, 'tftp')], max_per_client: 1024, max_transfers: 1024 },
  dhcp: { enabled: false },
  registry: { database: path.join(dir, 'soak.db') },
  policy: { install_mode: 'always' },
});
const provisioning = await loadProvisioning({ defaults: path.join(prov, 'defaults.yaml'), vmSpecs: path.join(prov, 'vm_specs.yaml'), installConfig: path.join(prov, 'install_config.yaml') });
const interfaces = { lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '127.0.0.1/8' }] };
const app = await buildApp({ config, provisioning, logger: silentLogger, interfaces: interfaces as never });
await app.start();
process.stdout.write(`${JSON.stringify({ tftp: app.tftp!.port, http: app.http.port })}\n`);

const gc = (globalThis as { gc?: () => void }).gc;
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') {
    gc?.();
    const resources: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
    const mem = process.memoryUsage();
    process.stdout.write(
      `${JSON.stringify({ fds: fs.readdirSync('/proc/self/fd').length, resources, heapMb: mem.heapUsed / 2 ** 20, rssMb: mem.rss / 2 ** 20, tftp: app.tftp!.stats() })}\n`,
    );
  } else if (line.trim() === 'quit') {
    void app.stop(5000).then((ok) => process.exit(ok ? 0 : 1));
  }
});
