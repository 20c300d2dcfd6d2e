// Proxy-DHCP against real peers in namespaces: dnsmasq as the LAN DHCP (no PXE options), pxed's DhcpService as the
// proxy, busybox udhcpc as BIOS / x64 UEFI / ARM64 PXE clients, a raw client for :4011 and for relayed requests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { fixtures } from '../helpers/paths.js';
import { killGroup } from '../helpers/netns.js';
import { decode, encode, getOption, macOf, messageType, OPT, serverId, type DhcpPacket } from '../../src/dhcp/codec.js';
import { capture, makeLab, rawClient, setMac, startLanDhcp, startResponder, udhcpc, type Captured, type Lab, type Responder } from './helpers/lab.js';

const BIOS = '52:54:00:aa:00:01';
const X64 = '52:54:00:aa:00:02';
const ARM = '52:54:00:aa:00:03';
const PLAIN = '52:54:00:aa:00:04'; // registered but not a PXE client
const STRANGER = '52:54:00:aa:00:05'; // PXE client, not registered
const RAW = '52:54:00:aa:00:06';
const BROKEN = '52:54:00:aa:00:07'; // the policy throws for it

let lab: Lab;
let lan: ChildProcess;
let pxed: Responder;
const seen = new Map<string, Captured[]>();

before(async () => {
  lab = makeLab();
  lan = await startLanDhcp(lab);
  pxed = await startResponder(lab.server, {
    interface: 'eth0',
    registered: { [BIOS]: {}, [X64]: {}, [ARM]: { strategy: 'direct' }, [PLAIN]: {}, [RAW]: {}, [BROKEN]: { throws: true } },
  });
  // One udhcpc run per client kind, each captured separately in the client namespace.
  const runs: [string, { vendor?: string; arch?: number }][] = [
    [BIOS, { vendor: 'PXEClient:Arch:00000:UNDI:002001', arch: 0 }],
    [X64, { vendor: 'PXEClient:Arch:00007:UNDI:003016', arch: 7 }],
    [ARM, { vendor: 'PXEClient:Arch:00011:UNDI:003016', arch: 11 }],
    [PLAIN, {}],
    [STRANGER, { vendor: 'PXEClient:Arch:00007:UNDI:003016', arch: 7 }],
  ];
  for (const [mac, o] of runs) {
    setMac(lab.client, 'eth0', mac);
    const cap = await capture(lab.client, 'eth0', `${lab.dir}/${mac.replace(/:/g, '')}.pcap`);
    // udhcpc is not PXE-aware: when our yiaddr-0 offer arrives first it selects it and then gets no lease (a real
    // PXE client never does). Its lease is not what is under test, so its exit status is not asserted.
    await udhcpc(lab.client, o);
    seen.set(mac, await cap.stop());
  }
  // Taking the link down to change the MAC flushed the default route the raw clients' broadcasts need.
  lab.client.ip('route', 'replace', 'default', 'dev', 'eth0');
});

after(async () => {
  await pxed?.stop();
  if (lan) await killGroup(lan);
  await lab?.destroy();
});

function replies(mac: string, from: string): DhcpPacket[] {
  return (seen.get(mac) ?? [])
    .filter((c) => c.src === from && c.sport === 67)
    .map((c) => decode(c.payload))
    .filter((p) => p.op === 2 && macOf(p) === mac);
}

function assertProxyOffer(p: DhcpPacket, file: string, with43: boolean): void {
  assert.equal(messageType(p), 2);
  assert.equal(p.yiaddr, '0.0.0.0');
  assert.equal(p.ciaddr, '0.0.0.0');
  assert.equal(p.siaddr, '10.77.0.2');
  assert.equal(p.sname, '10.77.0.2');
  assert.equal(p.flags, 0x8000);
  assert.equal(p.file, file);
  assert.equal(serverId(p), '10.77.0.2');
  assert.equal(getOption(p, OPT.VENDOR_CLASS)?.toString(), 'PXEClient');
  assert.equal(getOption(p, OPT.BOOTFILE)?.toString(), `${file}\0`); // udhcpc -O bootfile requests 67
  assert.equal(getOption(p, OPT.VENDOR)?.toString('hex') ?? null, with43 ? '060108ff' : null);
  for (const forbidden of [1, 3, 6, 51, 58, 59]) assert.equal(getOption(p, forbidden), null, `option ${forbidden}`);
}

void test('BIOS (arch 0): proxy OFFER broadcast with undionly.kpxe and 43 {6:8}; LAN server still offers', () => {
  const offers = replies(BIOS, '10.77.0.2');
  assert.ok(offers.length >= 1, 'no offer from pxed');
  assertProxyOffer(offers[0]!, 'undionly.kpxe', true);
  const raw = seen.get(BIOS)!.find((c) => c.src === '10.77.0.2')!;
  assert.deepEqual([raw.dst, raw.dport, raw.sport], ['255.255.255.255', 68, 67]);
  assert.ok(raw.payload.length >= 300);
  assert.ok(replies(BIOS, '10.77.0.1').some((p) => p.yiaddr.startsWith('10.77.0.1')), 'the LAN server answered too');
});

void test('x64 UEFI (arch 7): BINL offer, no option 43, snponly.efi', () => {
  const offers = replies(X64, '10.77.0.2');
  assert.ok(offers.length >= 1);
  assertProxyOffer(offers[0]!, 'x86_64/snponly.efi', false);
});

void test("ARM64 UEFI (arch 11) with the per-machine 'direct' strategy: 43 {6:8}, arm64 binary", () => {
  const offers = replies(ARM, '10.77.0.2');
  assert.ok(offers.length >= 1);
  assertProxyOffer(offers[0]!, 'arm64/snponly.efi', true);
});

void test('non-PXE clients and unregistered MACs get nothing from pxed', () => {
  assert.equal(replies(PLAIN, '10.77.0.2').length, 0);
  assert.ok(replies(PLAIN, '10.77.0.1').length > 0);
  assert.equal(replies(STRANGER, '10.77.0.2').length, 0);
  assert.ok(replies(STRANGER, '10.77.0.1').length > 0);
  assert.ok(!pxed.events.some((e) => e.ev === 'boot' && e.mac === PLAIN), 'the policy is not even asked for a non-PXE client');
  assert.ok(pxed.events.some((e) => e.ev === 'boot' && e.mac === STRANGER && e.answer === null));
});

function lanRequest(mac: string, xid: number, ip: number[]): string {
  const req = decode(fs.readFileSync(fixtures('dhcp', 'uefi-pxe-04-fw-client-request.bin')));
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(req.chaddr);
  req.xid = xid;
  req.options = req.options.filter((o) => o.code !== OPT.REQUESTED_IP && o.code !== OPT.SERVER_ID);
  req.options.push({ code: OPT.REQUESTED_IP, data: Buffer.from(ip) }, { code: OPT.SERVER_ID, data: Buffer.from([10, 77, 0, 1]) });
  return encode(req).toString('hex');
}

// Issue 14 item 13: a forged REQUEST with option 50 must not move a registered machine's address. Option 50 counts
// only as a hint, and only when the REQUEST continues an exchange pxed answered (same MAC and xid as our OFFER).
void test('REQUESTs to the LAN server are never answered; option 50 is reported only for an exchange we answered', async () => {
  const discover = decode(fs.readFileSync(fixtures('dhcp', 'uefi-pxe-01-fw-client-discover.bin')));
  Buffer.from(BIOS.replace(/:/g, ''), 'hex').copy(discover.chaddr);
  discover.xid = 0x51515151;
  const { replies: got } = await rawClient(lab.client, {
    bind: { address: '0.0.0.0', port: 68 },
    send: [
      // Forged: no DISCOVER of ours with this xid.
      { to: '255.255.255.255', port: 67, hex: lanRequest(BIOS, 0x50505050, [10, 77, 0, 123]) },
      // A real exchange: our proxy OFFER, then the client's REQUEST to the LAN server with the same xid.
      { to: '255.255.255.255', port: 67, hex: encode(discover).toString('hex') },
      { to: '255.255.255.255', port: 67, hex: lanRequest(BIOS, 0x51515151, [10, 77, 0, 124]) },
    ],
    listenMs: 1000,
  });
  assert.equal(got.filter((r) => r.from === '10.77.0.2' && messageType(decode(r.payload)) === 5).length, 0);
  await pxed.wait('option-50 observation', (e) => e.ev === 'observed' && e.mac === BIOS && e.source === 'request-opt50' && e.ip === '10.77.0.124');
  assert.equal(pxed.events.filter((e) => e.ev === 'observed' && e.ip === '10.77.0.123').length, 0, 'forged option 50 was reported');
  // The udhcpc runs' REQUESTs (to either server) were never answered by pxed either.
  for (const mac of [BIOS, X64, ARM]) assert.equal(replies(mac, '10.77.0.2').filter((p) => messageType(p) === 5).length, 0);
});

function request4011(mac: string, ciaddr: string): DhcpPacket {
  const p = decode(fs.readFileSync(fixtures('dhcp', 'uefi-pxe-06-fw-client-request-4011.bin')));
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(p.chaddr);
  p.ciaddr = ciaddr;
  return p;
}

void test(':4011 boot-server REQUEST (EDK2 capture): ACK unicast to the source ip:port with siaddr and file', async () => {
  const req = request4011(RAW, '10.77.0.9');
  const { replies: got } = await rawClient(lab.client, {
    bind: { address: '10.77.0.9', port: 4011 },
    send: [{ to: '10.77.0.2', port: 4011, hex: encode(req).toString('hex') }],
    listenMs: 1500,
  });
  assert.equal(got.length, 1);
  const r = got[0]!;
  assert.deepEqual([r.from, r.port], ['10.77.0.2', 4011]);
  const p = decode(r.payload);
  assert.equal(messageType(p), 5);
  assert.equal(p.xid, req.xid);
  assert.equal(p.ciaddr, '10.77.0.9');
  assert.equal(p.yiaddr, '0.0.0.0');
  assert.equal(p.siaddr, '10.77.0.2');
  assert.equal(p.file, 'x86_64/snponly.efi');
  assert.equal(getOption(p, OPT.VENDOR), null);
  assert.equal(getOption(p, OPT.CLIENT_UUID)?.length, 17);
  assert.ok(pxed.events.some((e) => e.ev === 'observed' && e.mac === RAW && e.source === 'ciaddr' && e.ip === '10.77.0.9'));
  assert.ok(pxed.events.some((e) => e.ev === 'boot' && e.mac === RAW && e.stage === 'proxy-ack-4011'));
});

void test(':4011 from iPXE-style source port 68 is answered to port 68; unregistered MACs get nothing', async () => {
  const { replies: got } = await rawClient(lab.client, {
    bind: { address: '10.77.0.9', port: 68 },
    send: [
      { to: '10.77.0.2', port: 4011, hex: encode(request4011(RAW, '10.77.0.9')).toString('hex') },
      { to: '10.77.0.2', port: 4011, hex: encode(request4011(STRANGER, '10.77.0.9')).toString('hex') },
    ],
    listenMs: 1500,
  });
  const fromPxed = got.filter((r) => r.from === '10.77.0.2').map((r) => decode(r.payload));
  assert.equal(fromPxed.length, 1);
  assert.equal(macOf(fromPxed[0]!), RAW);
});

void test(':67 REQUEST naming us in option 54 (Boot Server Discovery, 43.71): broadcast ACK with the boot file and 43.71 echoed', async () => {
  const req = request4011(RAW, '0.0.0.0');
  req.xid = 0x71717171;
  req.flags = 0x8000;
  req.options = req.options.filter((o) => o.code !== OPT.SERVER_ID && o.code !== OPT.VENDOR);
  req.options.push(
    { code: OPT.SERVER_ID, data: Buffer.from([10, 77, 0, 2]) },
    { code: OPT.VENDOR, data: Buffer.from([71, 4, 0x80, 0x00, 0x00, 0x00, 255]) },
  );
  // A client trying to *lease* our yiaddr-0 offer (option 50, no ciaddr, no boot item) gets silence.
  const lease = request4011(RAW, '0.0.0.0');
  lease.xid = 0x50505051;
  lease.options = lease.options.filter((o) => o.code !== OPT.SERVER_ID && o.code !== OPT.VENDOR);
  lease.options.push({ code: OPT.SERVER_ID, data: Buffer.from([10, 77, 0, 2]) }, { code: OPT.REQUESTED_IP, data: Buffer.from([0, 0, 0, 0]) });
  const { replies: got } = await rawClient(lab.client, {
    bind: { address: '0.0.0.0', port: 68 },
    send: [
      { to: '255.255.255.255', port: 67, hex: encode(req).toString('hex') },
      { to: '255.255.255.255', port: 67, hex: encode(lease).toString('hex') },
    ],
    listenMs: 1500,
  });
  assert.equal(got.filter((r) => r.from === '10.77.0.2' && decode(r.payload).xid === lease.xid).length, 0, 'no ACK to a lease attempt');
  const fromPxed = got.filter((r) => r.from === '10.77.0.2').map((r) => decode(r.payload)).filter((p) => p.xid === req.xid);
  assert.equal(fromPxed.length, 1);
  const p = fromPxed[0]!;
  assert.equal(messageType(p), 5);
  assert.equal(p.yiaddr, '0.0.0.0');
  assert.equal(p.siaddr, '10.77.0.2');
  assert.equal(p.file, 'x86_64/snponly.efi');
  assert.deepEqual([...(getOption(p, OPT.VENDOR) ?? [])], [71, 4, 0x80, 0x00, 0x00, 0x00, 255]);
  assert.ok(pxed.events.some((e) => e.ev === 'boot' && e.mac === RAW && e.stage === 'proxy-ack'));
});

void test('relayed DISCOVER (giaddr set, option 82): OFFER unicast to giaddr:67, giaddr and 82 echoed', async () => {
  const p = decode(fs.readFileSync(fixtures('dhcp', 'uefi-pxe-01-fw-client-discover.bin')));
  Buffer.from(RAW.replace(/:/g, ''), 'hex').copy(p.chaddr);
  p.giaddr = '10.77.0.9';
  p.hops = 1;
  p.options.push({ code: OPT.RELAY_AGENT, data: Buffer.from('0106657468312e37', 'hex') });
  const { replies: got } = await rawClient(lab.client, {
    bind: { address: '10.77.0.9', port: 67 },
    send: [{ to: '10.77.0.2', port: 67, hex: encode(p).toString('hex') }],
    listenMs: 1500,
  });
  const fromPxed = got.filter((r) => r.from === '10.77.0.2');
  assert.equal(fromPxed.length, 1);
  assert.equal(fromPxed[0]!.port, 67);
  const o = decode(fromPxed[0]!.payload);
  assert.equal(o.giaddr, '10.77.0.9');
  assert.equal(o.hops, 0);
  assert.equal(o.flags, 0x8000);
  assert.equal(getOption(o, OPT.RELAY_AGENT)?.toString('hex'), '0106657468312e37');
  assert.equal(o.file, 'x86_64/snponly.efi');
});

void test('iPXE gets its script URL, UEFI HTTP boot gets HTTPClient + URL, unsupported arches get nothing', async () => {
  const ipxe = decode(fs.readFileSync(fixtures('dhcp', 'bios-chain-01-ipxe-client-discover.bin')));
  Buffer.from(RAW.replace(/:/g, ''), 'hex').copy(ipxe.chaddr);
  ipxe.xid = 0x1001;
  const http = decode(fs.readFileSync(fixtures('dhcp', 'uefi-pxe-01-fw-client-discover.bin')));
  Buffer.from(RAW.replace(/:/g, ''), 'hex').copy(http.chaddr);
  http.xid = 0x1002;
  http.options = http.options.map((o) =>
    o.code === OPT.VENDOR_CLASS ? { code: o.code, data: Buffer.from('HTTPClient:Arch:00016:UNDI:003000') } : o.code === OPT.CLIENT_ARCH ? { code: o.code, data: Buffer.from([0, 16]) } : o);
  const itanium = decode(encode(http));
  itanium.xid = 0x1003;
  itanium.options = itanium.options.map((o) =>
    o.code === OPT.VENDOR_CLASS ? { code: o.code, data: Buffer.from('PXEClient:Arch:00002:UNDI:003000') } : o.code === OPT.CLIENT_ARCH ? { code: o.code, data: Buffer.from([0, 2]) } : o);
  const asked = pxed.events.filter((e) => e.ev === 'boot').length;
  const { replies: got } = await rawClient(lab.client, {
    bind: { address: '0.0.0.0', port: 68 },
    send: [ipxe, http, itanium].map((p) => ({ to: '255.255.255.255', port: 67, hex: encode(p).toString('hex') })),
    listenMs: 1500,
  });
  const byXid = new Map(got.filter((r) => r.from === '10.77.0.2').map((r) => decode(r.payload)).map((p) => [p.xid, p]));
  const oi = byXid.get(0x1001);
  assert.ok(oi);
  assert.equal(oi.file, `http://10.77.0.2:8080/boot.ipxe?mac=${RAW}`);
  assert.equal(oi.siaddr, '10.77.0.2'); // iPXE ignores a proxy offer without next-server (docs/protocol.md §11 item 2)
  const oh = byXid.get(0x1002);
  assert.ok(oh);
  assert.equal(getOption(oh, OPT.VENDOR_CLASS)?.toString(), 'HTTPClient');
  assert.equal(getOption(oh, OPT.VENDOR), null);
  assert.equal(oh.file, 'http://10.77.0.2/boot/efi-x64-http/snponly.efi');
  assert.equal(byXid.has(0x1003), false);
  assert.equal(pxed.events.filter((e) => e.ev === 'boot').length, asked + 2, 'the policy is not asked for an unsupported arch');
});

void test('a failing policy means silence for that client, a warning, and the loop carries on', async () => {
  const mk = (mac: string, xid: number): string => {
    const p = decode(fs.readFileSync(fixtures('dhcp', 'uefi-pxe-01-fw-client-discover.bin')));
    Buffer.from(mac.replace(/:/g, ''), 'hex').copy(p.chaddr);
    p.xid = xid;
    return encode(p).toString('hex');
  };
  const { replies: got } = await rawClient(lab.client, {
    bind: { address: '0.0.0.0', port: 68 },
    send: [{ to: '255.255.255.255', port: 67, hex: mk(BROKEN, 0x2001) }, { to: '255.255.255.255', port: 67, hex: mk(RAW, 0x2002) }],
    listenMs: 1500,
  });
  const xids = got.filter((r) => r.from === '10.77.0.2').map((r) => decode(r.payload).xid);
  assert.deepEqual(xids, [0x2002]);
  assert.ok(pxed.events.some((e) => e.ev === 'boot' && e.mac === BROKEN && e.threw === true));
  assert.match(pxed.stderr.join(''), /boot policy failed; staying silent/);
  assert.equal(pxed.child.exitCode, null);
});
