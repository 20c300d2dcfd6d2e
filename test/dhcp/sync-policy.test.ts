// The policy seam is one synchronous dhcpBoot (src/dhcp/ports.ts): the service answers the OFFER and the 4011 ACK
// without a promise, and a policy that throws means silence for that client only (counted, never fatal).
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

async function exchange(): Promise<{ replies: Map<string, string>; stats: Record<string, unknown> }> {
  const pxed = await startResponder(lab.server, { interface: 'eth0', registered: { [VALID]: {}, [BROKEN]: { throws: true } } });
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
    assert.ok(!pxed.events.some((e) => ['fatal', 'unhandledRejection', 'uncaughtException'].includes(e.ev)));
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

void test('synchronous dhcpBoot: OFFER and 4011 ACK for the booted MAC; a throwing policy is silence for its MAC', async () => {
  const s = await exchange();
  assert.deepEqual([...s.replies.keys()].sort(), [`5c000001 ${VALID} from :67`, `5c000003 ${VALID} from :4011`]);
  assert.equal(s.stats.offers, 1);
  assert.equal(s.stats.acks, 1);
  assert.equal(s.stats.policyErrors, 1);
});
