// Issue 14 item 3, over real sockets: DISCOVER floods against pxed's real DHCP service and policy in a namespace.
// Random MACs cannot grow the registry past the discovered-machine cap (nor faster than the discovery budget), and
// forged DISCOVERs for a registered MAC cannot grow its timeline faster than the per-MAC write budget.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { Netns, vethPair } from '../helpers/netns.js';
import { fixtures } from '../helpers/paths.js';
import { ADMIN_TOKEN } from '../http/fakes.js';
import { startLanServer, type LanServer } from './helpers/lan.js';
import type { ServerConfig } from './helpers/lan-server.js';

const execFileP = promisify(execFile);
const FLOOD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'flood.js');
const MAC = '52:54:00:14:03:01';
const BASE = 'http://10.77.0.2:8080';
const SEED = fs.readFileSync(fixtures('dhcp', 'bios-ipxe-01-ipxe-client-discover.bin')).toString('hex');

let server: Netns;
let client: Netns;

async function flood(count: number, mac: string | null): Promise<number> {
  const { stdout } = await execFileP('ip', ['netns', 'exec', client.name, process.execPath, FLOOD, JSON.stringify({ seedHex: SEED, count, mac })], { timeout: 60_000 });
  return (JSON.parse(stdout) as { sent: number }).sent;
}

function api(url: string): { total: number | null; body: unknown } {
  const raw = client.exec('curl', ['-s', '-i', '--max-time', '5', '-H', `authorization: Bearer ${ADMIN_TOKEN}`, `${BASE}${url}`]);
  const sep = raw.indexOf('\r\n\r\n');
  const total = /^x-total-count:\s*(\d+)/im.exec(raw.slice(0, sep));
  return { total: total ? Number(total[1]) : null, body: JSON.parse(raw.slice(sep + 4)) };
}

/** Waits until pxed has handled what was sent (the count stops moving). */
async function settled(read: () => number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const n = read();
    if (n === last) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

async function withServer(cfg: Partial<ServerConfig>, fn: () => Promise<void>): Promise<void> {
  const s: LanServer = await startLanServer(server, { address: '10.77.0.2', httpPort: 8080, mac: MAC, ...cfg });
  try {
    await fn();
  } finally {
    await s.stop();
  }
}

before(() => {
  server = new Netns('pds');
  client = new Netns('pdc');
  vethPair(server, 'eth0', '10.77.0.2/24', client, 'eth0', '10.77.0.9/24');
  client.ip('route', 'add', 'default', 'dev', 'eth0');
});

after(async () => {
  await client?.destroy();
  await server?.destroy();
});

const discovered = (): number => api('/api/v1/machines?state=discovered&limit=1').total ?? -1;

void test('random-MAC DISCOVERs: the discovered rows stop at the cap (oldest aged out)', () =>
  withServer({ settings: { unknownMacs: 'discover', maxDiscovered: 200, writeLimits: { discoveries: 1_000_000 } } }, async () => {
    assert.equal(await flood(2000, null), 2000);
    const n = await settled(discovered);
    assert.equal(n, 200, 'capped');
    assert.equal(api(`/api/v1/machines/${MAC}`).body && (api(`/api/v1/machines/${MAC}`).body as { state: string }).state, 'registered', 'registered machines are never aged out');
  }));

void test('random-MAC DISCOVERs within the default budget; forged DISCOVERs for a known MAC within its write budget', () =>
  withServer({ settings: { unknownMacs: 'discover' } }, async () => {
    await flood(2000, null);
    const n = await settled(discovered);
    assert.ok(n > 0 && n <= 120, `${n} discovered (budget 120 a minute)`);
    const events = (): number => (api(`/api/v1/machines/${MAC}/events?limit=1000`).body as unknown[]).length;
    const before = events();
    await flood(500, MAC);
    const added = (await settled(events)) - before;
    assert.ok(added <= 62, `${added} events for 500 DISCOVERs (budget 60 a minute, + the state change)`);
  }));
