// Full DHCP mode against busybox udhcpc in namespaces, leases in the real SQLite registry: refuses to start next to
// another DHCP server, hands out, renews and releases a lease, serves reservations, NAKs foreign addresses, and after
// a restart does not hand out an address that is still leased.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { killGroup, Netns, vethPair, waitFor } from '../helpers/netns.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import { decode, encode, getOption, messageType, OPT, type DhcpPacket } from '../../src/dhcp/codec.js';
import type { RunnerConfig } from './helpers/responder.js';
import { capture, execIn, makeLab, rawClient, setMac, startLanDhcp, startResponder, type Lab, type Responder } from './helpers/lab.js';

const A = '52:54:00:cc:00:01'; // BIOS PXE client, registered
const B = '52:54:00:cc:00:02'; // plain client
const R = '52:54:00:cc:00:03'; // reserved

let lab: Lab;
let client2: Netns;
let pxed: Responder | null = null;
let udhcpA: ChildProcess | null = null;
let cfg: RunnerConfig;
const out = (name: string): string => `${lab.dir}/${name}.log`;

before(() => {
  lab = makeLab({ clientCidr: null });
  client2 = new Netns('pdk');
  vethPair(client2, 'eth0', null, lab.net, 'c1', null);
  lab.net.ip('link', 'set', 'c1', 'master', 'br0');
  // udhcpc event script: configures the address (needed for unicast renewals) and logs the lease it got.
  fs.writeFileSync(`${lab.dir}/script.sh`, [
    '#!/bin/sh',
    'case "$1" in',
    '  deconfig) ip addr flush dev "$interface" ;;',
    '  bound|renew) ip addr replace "$ip/${mask:-24}" dev "$interface" ;;',
    'esac',
    'echo "$1 ip=$ip siaddr=$siaddr boot_file=$boot_file router=$router dns=$dns domain=$domain lease=$lease hostname=$hostname serverid=$serverid" >> "$OUT"',
    '',
  ].join('\n'), { mode: 0o755 });
  cfg = {
    interface: 'eth0',
    mode: 'full',
    registered: { [A]: {} },
    full: {
      poolStart: '10.77.0.100', poolEnd: '10.77.0.103', router: '10.77.0.1', dns: ['10.77.0.1'], domain: 'lab.test',
      leaseSeconds: 6, dbPath: `${lab.dir}/registry.db`, probeTimeoutMs: 1500,
      reservations: [{ mac: R, ip: '10.77.0.50', hostname: 'resv' }],
    },
  };
});

after(async () => {
  if (udhcpA) await killGroup(udhcpA);
  await pxed?.stop();
  await client2?.destroy();
  await lab?.destroy();
});

const lines = (name: string): string[] => (fs.existsSync(out(name)) ? fs.readFileSync(out(name), 'utf8').split('\n').filter(Boolean) : []);
const field = (line: string, k: string): string => new RegExp(`${k}=(\\S*)`).exec(line)?.[1] ?? '';

void test('refuses to start when another DHCP server answers the probe DISCOVER', async () => {
  const lan = await startLanDhcp(lab);
  try {
    const r = await startResponder(lab.server, cfg, true);
    const e = await r.wait('exit status', (x) => x.ev === 'error' || x.ev === 'ready');
    assert.equal(e.ev, 'error');
    assert.equal(e.code, 'DHCP_CONFLICT');
    assert.match(String(e.err), /10\.77\.0\.1/);
    await r.stop();
  } finally {
    await killGroup(lan);
  }
});

void test('hands out a lease with boot options in OFFER and ACK, then renews it', async () => {
  pxed = await startResponder(lab.server, cfg);
  setMac(lab.client, 'eth0', A);
  const cap = await capture(lab.client, 'eth0', `${lab.dir}/a.pcap`);
  udhcpA = lab.client.spawn('busybox', ['udhcpc', '-f', '-R', '-i', 'eth0', '-t', '3', '-T', '1', '-s', `${lab.dir}/script.sh`,
    '-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000', '-O', 'bootfile'], { env: { ...process.env, OUT: out('a') } });
  udhcpA.stdout?.resume();
  udhcpA.stderr?.resume();
  await waitFor('client A bound', () => lines('a').some((l) => l.startsWith('bound')), 10_000);
  const bound = lines('a').find((l) => l.startsWith('bound'))!;
  assert.equal(field(bound, 'ip'), '10.77.0.100');
  assert.equal(field(bound, 'siaddr'), '10.77.0.2');
  assert.equal(field(bound, 'boot_file'), 'undionly.kpxe');
  assert.equal(field(bound, 'router'), '10.77.0.1');
  assert.equal(field(bound, 'dns'), '10.77.0.1');
  assert.equal(field(bound, 'domain'), 'lab.test');
  assert.equal(field(bound, 'lease'), '6');
  assert.equal(field(bound, 'serverid'), '10.77.0.2');
  // busybox clamps short leases to 122 s; SIGUSR1 asks it to renew now (a unicast REQUEST, ACKed unicast).
  process.kill(udhcpA.pid!, 'SIGUSR1');
  await waitFor('client A renewed', () => lines('a').some((l) => l.startsWith('renew')), 10_000);
  assert.equal(field(lines('a').find((l) => l.startsWith('renew'))!, 'ip'), '10.77.0.100');
  const replies = (await cap.stop()).filter((c) => c.src === '10.77.0.2').map((c) => ({ c, p: decode(c.payload) }));
  const offer = replies.find((r) => messageType(r.p) === 2)!.p;
  const acks = replies.filter((r) => messageType(r.p) === 5);
  for (const p of [offer, acks[0]!.p]) {
    assert.equal(p.yiaddr, '10.77.0.100');
    assert.equal(p.file, 'undionly.kpxe');
    assert.equal(getOption(p, OPT.VENDOR_CLASS)?.toString(), 'PXEClient');
    assert.equal(getOption(p, OPT.VENDOR)?.toString('hex'), '060108ff');
  }
  assert.ok(acks.some((r) => r.c.dst === '10.77.0.100'), 'the renewal ACK went unicast to ciaddr');
  assert.ok(pxed.events.some((e) => e.ev === 'boot' && e.mac === A && e.stage === 'dhcp-ack'));
  assert.ok(pxed.events.some((e) => e.ev === 'observed' && e.mac === A && e.source === 'lease'));
});

void test('after a restart the still-leased address goes to nobody else; reservations and NAK work', async () => {
  await pxed!.stop();
  pxed = await startResponder(lab.server, cfg);
  setMac(client2, 'eth0', B);
  const rb = await execIn(client2, 'busybox', ['udhcpc', '-q', '-n', '-i', 'eth0', '-t', '3', '-T', '1', '-s', `${lab.dir}/script.sh`], 20_000);
  assert.equal(rb.code, 0, rb.stderr);
  // execIn does not pass OUT; read B's address from the registry instead.
  const reg = openRegistry(cfg.full!.dbPath);
  try {
    const lb = reg.leaseForMac(B);
    assert.ok(lb);
    assert.notEqual(lb.ip, '10.77.0.100');
    assert.equal(lb.ip, '10.77.0.101');
    assert.equal(lb.state, 'bound');
    assert.equal(reg.leaseGet('10.77.0.100')?.mac, A);
  } finally {
    reg.close();
  }
  client2.ip('addr', 'flush', 'dev', 'eth0');
  setMac(client2, 'eth0', R);
  const rr = await execIn(client2, 'busybox', ['udhcpc', '-q', '-n', '-i', 'eth0', '-t', '3', '-T', '1', '-s', '/bin/true'], 20_000);
  assert.equal(rr.code, 0, rr.stderr);
  assert.match(rr.stderr + rr.stdout, /10\.77\.0\.50/);

  // A REQUEST for an address outside the pool, naming us as server: NAK, broadcast.
  client2.ip('addr', 'add', '10.77.0.60/24', 'dev', 'eth0');
  client2.ip('route', 'add', 'default', 'dev', 'eth0');
  const req: DhcpPacket = {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 0x4e414b21, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: Buffer.concat([Buffer.from('525400cc0004', 'hex'), Buffer.alloc(10)]), sname: '', file: '',
    options: [
      { code: OPT.MESSAGE_TYPE, data: Buffer.from([3]) },
      { code: OPT.REQUESTED_IP, data: Buffer.from([10, 77, 0, 200]) },
      { code: OPT.SERVER_ID, data: Buffer.from([10, 77, 0, 2]) },
    ],
  };
  const { replies } = await rawClient(client2, { bind: { address: '0.0.0.0', port: 68 }, send: [{ to: '255.255.255.255', port: 67, hex: encode(req).toString('hex') }], listenMs: 1000 });
  const nak = replies.map((r) => decode(r.payload)).find((p) => p.xid === 0x4e414b21);
  assert.ok(nak);
  assert.equal(messageType(nak), 6);
});

void test('RELEASE on exit frees the lease', async () => {
  await killGroup(udhcpA!); // SIGTERM with -R: udhcpc sends DHCPRELEASE
  udhcpA = null;
  await new Promise((r) => setTimeout(r, 500));
  await pxed!.stop();
  pxed = null;
  const reg = openRegistry(cfg.full!.dbPath);
  try {
    assert.equal(reg.leaseGet('10.77.0.100')?.state, 'released');
  } finally {
    reg.close();
  }
});
