// Fuzz against the RUNNING responder: 100 000 mutated and random datagrams to :67 (unicast and broadcast) and :4011
// from a client namespace, then a valid DISCOVER must still get its OFFER; no crash, no unhandled rejection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fixtures } from '../helpers/paths.js';
import { decode, encode, macOf, messageType } from '../../src/dhcp/codec.js';
import { makeLab, rawClient, startResponder, type Lab, type Responder } from './helpers/lab.js';

const VALID = '52:54:00:dd:00:01';
let lab: Lab;
let pxed: Responder;

before(async () => {
  lab = makeLab();
  pxed = await startResponder(lab.server, { interface: 'eth0', registered: { [VALID]: {} } });
});

after(async () => {
  await pxed?.stop();
  await lab?.destroy();
});

void test('100 000 bad packets, then a valid DISCOVER still gets an OFFER', async () => {
  const dir = fixtures('dhcp');
  const seedsHex = fs.readdirSync(dir).filter((f) => f.endsWith('.bin')).map((f) => fs.readFileSync(`${dir}/${f}`).toString('hex'));
  const valid = decode(fs.readFileSync(`${dir}/uefi-pxe-01-fw-client-discover.bin`));
  Buffer.from(VALID.replace(/:/g, ''), 'hex').copy(valid.chaddr);
  valid.xid = 0x600d600d;
  const { replies, info } = await rawClient(lab.client, {
    bind: { address: '0.0.0.0', port: 68 },
    fuzz: {
      count: 100_000,
      seedsHex,
      seed: 0x5eed,
      maxMs: 60_000,
      targets: [{ to: '10.77.0.2', port: 67 }, { to: '255.255.255.255', port: 67 }, { to: '10.77.0.2', port: 4011 }],
    },
    // Like a real client: retransmitted (3 times, 500 ms apart) after the flood; every copy must be answered.
    settleMs: 500,
    repeat: 3,
    send: [{ to: '255.255.255.255', port: 67, hex: encode(valid).toString('hex') }],
    listenMs: 1500,
  });
  assert.equal(info.sent, 100_003);
  const offers = replies.map((r) => decode(r.payload)).filter((p) => p.xid === 0x600d600d && macOf(p) === VALID && messageType(p) === 2);
  assert.equal(offers.length, 3, 'every copy of the valid DISCOVER was answered');
  assert.equal(pxed.child.exitCode, null, 'the responder is still running');
  process.kill(pxed.child.pid!, 'SIGUSR2');
  const stats = await pxed.wait('stats', (e) => e.ev === 'stats');
  assert.ok(Number(stats.received) > 90_000, `received ${String(stats.received)}`);
  assert.ok(Number(stats.malformed) > 1000, `malformed ${String(stats.malformed)}`);
  assert.ok(!pxed.events.some((e) => ['fatal', 'unhandledRejection', 'uncaughtException'].includes(e.ev)));
  // Malformed packets are logged at warn, rate-limited: a handful of lines, not 100 000.
  const warnLines = pxed.stderr.join('').split('\n').filter((l) => l.includes('"malformed DHCP packet"'));
  assert.ok(warnLines.length >= 1 && warnLines.length <= 100, `${warnLines.length} warn lines`);
});
