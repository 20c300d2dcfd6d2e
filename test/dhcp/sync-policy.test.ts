// The policy seam's synchronous form (dhcpBootSync, what the daemon's BootPolicy offers): the service answers the
// same bytes as through the async dhcpBoot, and a policy that throws synchronously still means silence.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fixtures } from '../helpers/paths.js';
import { decode, encode, macOf } from '../../src/dhcp/codec.js';
import { makeLab, rawClient, startResponder, type Lab } from './helpers/lab.js';

const VALID = '52:54:00:ee:00:01';
const BROKEN = '52:54:00:ee:00:02'; // the policy throws for it
let lab: Lab;

before(() => {
  lab = makeLab();
});

after(async () => {
  await lab?.destroy();
});

function request(file: string, mac: string, xid: number): string {
  const p = decode(fs.readFileSync(fixtures('dhcp', file)));
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(p.chaddr);
  p.xid = xid;
  return encode(p).toString('hex');
}

async function exchange(policy: 'async' | 'sync'): Promise<{ replies: Map<string, string>; stats: Record<string, unknown> }> {
  const pxed = await startResponder(lab.server, { interface: 'eth0', policy, registered: { [VALID]: {}, [BROKEN]: { throws: true } } });
  try {
    const { replies } = await rawClient(lab.client, {
      bind: { address: '0.0.0.0', port: 68 },
      send: [
        { to: '255.255.255.255', port: 67, hex: request('uefi-pxe-01-fw-client-discover.bin', VALID, 0x5c000001) },
        { to: '255.255.255.255', port: 67, hex: request('uefi-pxe-01-fw-client-discover.bin', BROKEN, 0x5c000002) },
        { to: '10.77.0.2', port: 4011, hex: request('uefi-pxe-06-fw-client-request-4011.bin', VALID, 0x5c000003) },
      ],
      listenMs: 1000,
    });
    process.kill(pxed.child.pid!, 'SIGUSR2');
    const stats = await pxed.wait('stats', (e) => e.ev === 'stats');
    assert.ok(!pxed.events.some((e) => ['fatal', 'unhandledRejection', 'uncaughtException'].includes(e.ev)), policy);
    const byXid = new Map<string, string>();
    for (const r of replies) {
      const p = decode(r.payload);
      byXid.set(`${p.xid.toString(16)} ${macOf(p)} from :${r.port}`, r.payload.toString('hex'));
    }
    return { replies: byXid, stats };
  } finally {
    await pxed.stop();
  }
}

void test('dhcpBootSync: byte-identical OFFER and 4011 ACK to the async path; a synchronous throw is silence', async () => {
  const a = await exchange('async');
  const s = await exchange('sync');
  assert.deepEqual([...s.replies.keys()].sort(), [`5c000001 ${VALID} from :67`, `5c000003 ${VALID} from :4011`]);
  assert.deepEqual(s.replies, a.replies);
  for (const r of [a, s]) {
    assert.equal(r.stats.offers, 1);
    assert.equal(r.stats.acks, 1);
    assert.equal(r.stats.policyErrors, 1);
  }
});
