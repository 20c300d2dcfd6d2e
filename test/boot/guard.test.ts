// Issue 14 item 1 (install hijack), over real sockets: pxed's DHCP (proxy) and HTTP in a server namespace, a victim
// (10.77.0.9) and an attacker (10.77.0.66) on one client namespace, DISCOVERs from the raw client, HTTP from curl
// bound to either address. While the install is armed, a script fetch from another address neither revokes nor
// re-mints the token; only a new DHCP exchange (a reboot) re-arms; minting is rate-limited; the token is refused
// from another address with the same 404 as an unknown token, and the refusals cost one timeline event each.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { decode, encode } from '../../src/dhcp/codec.js';
import { Netns, vethPair } from '../helpers/netns.js';
import { fixtures } from '../helpers/paths.js';
import { rawClient } from '../dhcp/helpers/lab.js';
import { ADMIN_TOKEN } from '../http/fakes.js';
import { startLanServer, type LanServer } from './helpers/lan.js';
import { tokenOf } from './fixtures.js';

const MAC = '52:54:00:14:01:01';
const VICTIM = '10.77.0.9';
const ATTACKER = '10.77.0.66';
const BASE = 'http://10.77.0.2:8080';

let server: Netns;
let client: Netns;
let pxed: LanServer;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP request from `source` in the client namespace (curl: a real TCP connection from that address). */
function http(source: string, url: string, post?: string): Answer {
  const args = ['-s', '-i', '--max-time', '5', '--interface', source, `${BASE}${url}`];
  if (post !== undefined) args.push('-X', 'POST', '-H', 'content-type: application/json', '--data-binary', '@-');
  const raw = client.exec('curl', args, { input: post ?? '' });
  const sep = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.slice(0, sep).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body: raw.slice(sep + 4) };
}

const script = (source: string, extra = ''): string => http(source, `/ipxe/${MAC}?buildarch=x86_64&platform=efi${extra}`).body;
const userData = (source: string, token: string): Answer => http(source, `/nocloud/${token}/user-data`);
const phoneHome = (source: string, token: string): Answer =>
  http(source, `/api/v1/boot/${token}/events`, JSON.stringify({ event_type: 'start', name: 'subiquity/Install/install', origin: 'curtin' }));

function events(): Array<{ kind: string; detail: Record<string, unknown> }> {
  const raw = client.exec('curl', ['-s', '--max-time', '5', '--interface', VICTIM, '-H', `authorization: Bearer ${ADMIN_TOKEN}`, `${BASE}/api/v1/machines/${MAC}/events?limit=1000`]);
  return JSON.parse(raw) as Array<{ kind: string; detail: Record<string, unknown> }>;
}

function machineState(): string {
  const raw = client.exec('curl', ['-s', '--max-time', '5', '--interface', VICTIM, '-H', `authorization: Bearer ${ADMIN_TOKEN}`, `${BASE}/api/v1/machines/${MAC}`]);
  return (JSON.parse(raw) as { state: string }).state;
}

/** The machine (re)boots: an iPXE DISCOVER (capture) with its MAC, answered by pxed's proxy DHCP. */
async function reboot(xid: number): Promise<void> {
  const p = decode(fs.readFileSync(fixtures('dhcp', 'bios-ipxe-01-ipxe-client-discover.bin')));
  Buffer.from(MAC.replace(/:/g, ''), 'hex').copy(p.chaddr);
  p.xid = xid;
  const { replies } = await rawClient(client, {
    bind: { address: '0.0.0.0', port: 68 },
    send: [{ to: '255.255.255.255', port: 67, hex: encode(p).toString('hex') }],
    listenMs: 250,
  });
  assert.ok(replies.some((r) => r.from === '10.77.0.2'), 'pxed answered the DISCOVER');
}

/** What differs between two 404s (date aside). */
function same404(a: Answer, b: Answer, what: string): void {
  const strip = ({ date: _d, ...rest }: Record<string, string>) => rest;
  assert.equal(a.status, 404, what);
  assert.deepEqual([b.status, strip(b.headers), b.body], [a.status, strip(a.headers), a.body], what);
}

before(async () => {
  server = new Netns('phs');
  client = new Netns('phc');
  vethPair(server, 'eth0', '10.77.0.2/24', client, 'eth0', `${VICTIM}/24`);
  client.ip('addr', 'add', `${ATTACKER}/24`, 'dev', 'eth0');
  client.ip('route', 'add', 'default', 'dev', 'eth0');
  pxed = await startLanServer(server, { address: '10.77.0.2', httpPort: 8080, mac: MAC });
});

after(async () => {
  await pxed?.stop();
  await client?.destroy();
  await server?.destroy();
});

void test('install hijack: no revoke or re-mint without a reboot; tokens bound to their address; identical 404s', async () => {
  await reboot(0x14000001);
  const t1 = tokenOf(script(VICTIM));
  assert.equal(userData(VICTIM, t1).status, 200, 'the installer fetches its seed');
  assert.equal(machineState(), 'installing');
  const before = events().length;

  // The attacker asks for the machine's script, by the fast path and by the fastify route ('+' in the query).
  for (const extra of ['', '&x=a+b']) {
    const s = script(ATTACKER, extra);
    assert.doesNotMatch(s, /nocloud\/|api\/v1\/boot\//, 'no token for the attacker');
    assert.match(s, /install is in progress/);
  }
  assert.equal(userData(VICTIM, t1).status, 200, 'the running install keeps its token');
  // The same client re-chaining without DHCP gets the same script, the same token.
  assert.equal(tokenOf(script(VICTIM)), t1);

  // A leaked token from another address: the same 404 as a made-up token, on both routes.
  const madeUp = 'A'.repeat(43);
  same404(userData(ATTACKER, madeUp), userData(ATTACKER, t1), 'artifact: wrong source vs unknown');
  same404(phoneHome(ATTACKER, madeUp), phoneHome(ATTACKER, t1), 'phone-home: wrong source vs unknown');
  assert.equal(machineState(), 'installing', 'the attacker cannot move the machine');

  // Flooding costs one event per refusal kind.
  const urls = Array.from({ length: 30 }, () => [`${BASE}/ipxe/${MAC}?platform=efi`, `${BASE}/nocloud/${t1}/user-data`]).flat();
  const codes = client.exec('curl', ['-s', '--max-time', '20', '--interface', ATTACKER, '-w', '%{http_code}\\n', ...urls.flatMap((u) => ['-o', '/dev/null', u])]);
  assert.deepEqual([...new Set(codes.trim().split('\n'))].sort(), ['200', '404'], 'scripts answered (refusals), artifacts 404');
  const added = events().slice(before);
  const refusedScripts = added.filter((e) => e.kind === 'ipxe-script' && e.detail.variant === 'refused');
  const wrongSource = added.filter((e) => e.kind === 'token' && e.detail.outcome === 'wrong-source');
  assert.equal(refusedScripts.length, 1, JSON.stringify(added));
  assert.equal(refusedScripts[0]?.detail.client, ATTACKER, 'the event names the refused address');
  assert.equal(wrongSource.length, 1, JSON.stringify(added));
  assert.equal(wrongSource[0]?.detail.client, ATTACKER);
  assert.ok(added.length <= 4, `${added.length} events for ~100 hostile requests`);

  // A real reboot (a new DHCP exchange) re-arms: new token, the old one is gone.
  await reboot(0x14000002);
  const t2 = tokenOf(script(VICTIM));
  assert.notEqual(t2, t1);
  assert.equal(userData(VICTIM, t1).status, 404);
  assert.equal(userData(VICTIM, t2).status, 200);

  // Minting is rate-limited per MAC even with a DHCP exchange before each fetch (4 per minute by default).
  let minted = 2; // t1 and t2
  for (let i = 0; i < 3; i++) {
    await reboot(0x14000010 + i);
    if (/nocloud\//.test(script(VICTIM))) minted++;
  }
  assert.equal(minted, 4, 'mints in one minute');
});
