// "Serve one provisioning interface" with Node's dgram on Linux, proved with two interfaces in the server namespace:
//   client A ns  eth0 10.77.0.9/24 <-> server ns eth0 10.77.0.2/24   (the provisioning interface)
//   client B ns  eth0 10.88.0.9/24 <-> server ns eth1 10.88.0.2/24   (another interface, holding the default route)
// A 255.255.255.255 reply sent from a socket bound to 10.77.0.2 leaves through eth0 only (Linux picks the output
// device from the bound source address for a limited broadcast), while an unbound socket follows the default route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixtures } from '../helpers/paths.js';
import { Netns, vethPair } from '../helpers/netns.js';
import { decode, encode, macOf, messageType } from '../../src/dhcp/codec.js';
import { capture, rawClient, startResponder, type Captured, type Responder } from './helpers/lab.js';

let server: Netns;
let a: Netns;
let b: Netns;
let pxed: Responder;
let dir: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-iface-'));
  server = new Netns('pis');
  a = new Netns('pia');
  b = new Netns('pib');
  vethPair(server, 'eth0', '10.77.0.2/24', a, 'eth0', '10.77.0.9/24');
  vethPair(server, 'eth1', '10.88.0.2/24', b, 'eth0', '10.88.0.9/24');
  server.ip('route', 'add', 'default', 'via', '10.88.0.9', 'dev', 'eth1');
  for (const c of [a, b]) c.ip('route', 'add', 'default', 'dev', 'eth0');
  pxed = await startResponder(server, { interface: 'eth0', registered: { '*': {} } });
});

after(async () => {
  await pxed?.stop();
  for (const ns of [a, b, server]) await ns?.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function discover(mac: string, xid: number): string {
  const p = decode(fs.readFileSync(fixtures('dhcp', 'uefi-pxe-01-fw-client-discover.bin')));
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(p.chaddr);
  p.xid = xid;
  return encode(p).toString('hex');
}

const offersIn = (caps: Captured[], xid: number): Captured[] =>
  caps.filter((c) => c.sport === 67 && c.dport === 68).filter((c) => {
    const p = decode(c.payload);
    return p.xid === xid && messageType(p) === 2;
  });

async function broadcastFrom(ns: Netns, mac: string, xid: number): Promise<{ capA: Captured[]; capB: Captured[] }> {
  const ca = await capture(a, 'eth0', `${dir}/a-${xid}.pcap`);
  const cb = await capture(b, 'eth0', `${dir}/b-${xid}.pcap`);
  await rawClient(ns, { bind: { address: '0.0.0.0', port: 68 }, send: [{ to: '255.255.255.255', port: 67, hex: discover(mac, xid) }], listenMs: 800 });
  return { capA: await ca.stop(), capB: await cb.stop() };
}

void test('a DISCOVER on the provisioning interface is answered there, from its address, and nowhere else', async () => {
  const { capA, capB } = await broadcastFrom(a, '52:54:00:bb:00:01', 0x1111);
  const got = offersIn(capA, 0x1111);
  assert.equal(got.length, 1);
  assert.deepEqual([got[0]!.src, got[0]!.dst], ['10.77.0.2', '255.255.255.255']);
  assert.equal(macOf(decode(got[0]!.payload)), '52:54:00:bb:00:01');
  assert.equal(offersIn(capB, 0x1111).length, 0);
});

void test('limitation: a DISCOVER from the other interface reaches the policy, but its reply still leaves only via eth0', async () => {
  const { capA, capB } = await broadcastFrom(b, '52:54:00:bb:00:02', 0x2222);
  assert.equal(offersIn(capB, 0x2222).length, 0, 'nothing leaves through eth1');
  assert.equal(offersIn(capA, 0x2222).length, 1, 'the reply went out of the provisioning interface');
  assert.ok(pxed.events.some((e) => e.ev === 'boot' && e.mac === '52:54:00:bb:00:02'));
});

void test('control: an unbound socket broadcasting to 255.255.255.255 follows the default route (eth1)', async () => {
  const ca = await capture(a, 'eth0', `${dir}/a-ctl.pcap`);
  const cb = await capture(b, 'eth0', `${dir}/b-ctl.pcap`);
  await rawClient(server, { bind: { address: '0.0.0.0', port: 6868 }, send: [{ to: '255.255.255.255', port: 68, hex: discover('52:54:00:bb:00:03', 0x3333) }], listenMs: 300 });
  const [capA, capB] = [await ca.stop(), await cb.stop()];
  const is = (c: Captured): boolean => c.sport === 6868;
  assert.equal(capA.filter(is).length, 0);
  assert.equal(capB.filter(is).length, 1);
});
