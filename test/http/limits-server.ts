// A child process for test/http/limits.test.ts: the HTTP app over the real BootPolicy and an in-memory registry,
// listening on 127.0.0.1, with one registered machine and a 64 MiB asset. Prints `{"port", "token", "pid"}` on
// stdout once listening; the limits come from argv[2] (JSON, may be "{}"). The parent reads its RSS from /proc.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildHttpApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/log.js';
import { hostSpec, rig, tokenOf } from '../boot/fixtures.js';
import { ADMIN_TOKEN } from './fakes.js';

const MAC = '52:54:00:14:00:02';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-limits-'));
fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(64 * 1024 * 1024, 7));
const r = rig({}, [hostSpec('ubu1', 'ubuntu', { mac: MAC })]);
r.registry.machineCreate({ mac: MAC, host: 'ubu1', state: 'registered' });
const limits = JSON.parse(process.argv[2] ?? '{}') as Record<string, number>;
const app = buildHttpApp({
  policy: r.policy,
  admin: r.admin,
  assetRoots: [dir],
  ipxeBinRoots: [],
  adminToken: ADMIN_TOKEN,
  logger: silentLogger,
  ready: () => true,
  limits,
});
const script = await app.inject({ url: `/ipxe/${MAC}?buildarch=x86_64&platform=efi`, remoteAddress: '127.0.0.1' });
await app.listen({ host: '127.0.0.1', port: 0 });
const port = (app.server.address() as AddressInfo).port;
process.stdout.write(JSON.stringify({ port, token: tokenOf(script.body), pid: process.pid }) + '\n');
const stop = (): void => {
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
