// The admin page in real Chromium, against a boot driven by real DHCP and HTTP traffic: this test creates a server
// and a client namespace joined by a veth pair (private addresses that exist only there), runs the scenario
// (admin-scenario.ts: pxed's HTTP app and proxy-DHCP service, the browser) inside the server namespace, and the
// machine's requests from the client namespace. It checks: a wrong token stays on sign-in; sign-in; add; a boot
// watched live through its stages; a stalled boot's hint; adopt; reinstall; delete; hostile strings shown as text;
// no horizontal scroll at phone width. Screenshots go to test/artifacts/.

import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { Netns, killGroup, vethPair } from '../helpers/netns.js';
import { CLIENT_CIDR, SERVER_CIDR } from './admin-scenario-net.js';

const SCENARIO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'admin-scenario.js');
const made: Netns[] = [];
after(async () => {
  for (const ns of made.reverse()) await ns.destroy();
});

void test('admin page in Chromium: sign-in, add, a live boot over real DHCP/HTTP, a stall, adopt, reinstall, delete, hostile text, phone width', async () => {
  const server = new Netns('pxab');
  made.push(server);
  const client = new Netns('pxac');
  made.push(client);
  vethPair(server, 'eth0', SERVER_CIDR, client, 'eth0', CLIENT_CIDR);
  // A default route lets the client's 255.255.255.255 sends through.
  client.ip('route', 'add', 'default', 'dev', 'eth0');

  const child = server.spawn(process.execPath, [SCENARIO], { env: { ...process.env, PXED_CLIENT_NETNS: client.name }, cwd: process.cwd() });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => void killGroup(child), 240_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  assert.match(out, /admin page scenario: ok/);
});
