// A repeated RRQ to an unconfirmed transfer, and which unconfirmed transfer the cap evicts (docs/protocol.md §6
// items 2 and §6.4). At 1 000 machines (bench/storm) clients whose first OACK came late latched onto its port while
// the server had replaced that transfer by a fresh one on another port, and evictions hit transfers still sending.
// TftpService on loopback with a kernel-chosen port; peers are raw sockets that ACK only when told to.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encode } from '../../src/tftp/codec.js';
import type { TftpTransferReport } from '../../src/tftp/ports.js';
import { TftpService } from '../../src/tftp/server.js';
import { waitFor } from '../helpers/netns.js';
import { peer as rawPeer, rrqPacket, type Peer } from './client.js';

const HOST = '127.0.0.1';
const file = crypto.randomBytes(1468 * 3 + 7);
const reports: TftpTransferReport[] = [];
let dir: string;
let svc: TftpService;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Every peer is closed in after(), so a failed assertion cannot leave a socket holding the process open. */
const peers: Peer[] = [];
const peer = async (address: string): Promise<Peer> => {
  const p = await rawPeer(address);
  peers.push(p);
  return p;
};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tftp-repeat-'));
  fs.writeFileSync(path.join(dir, 'f.bin'), file);
  svc = new TftpService({
    listen: [HOST],
    port: 0,
    roots: [dir],
    timeoutMs: 100,
    maxUnconfirmed: 2,
    policy: { tftpOpen: () => Promise.resolve(null), tftpTransferred: (r) => reports.push(r) },
  });
  await svc.start();
});

after(async () => {
  for (const p of peers) p.sock.close();
  await svc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rrq = rrqPacket('f.bin', [['blksize', '1468']]);

void describe('repeated RRQs and the unconfirmed cap', () => {
  void it('the same RRQ to a silent unconfirmed transfer is answered again from the same port, which then serves the file', async () => {
    const c = await peer(HOST);
    c.sock.send(rrq, svc.port, HOST);
    await waitFor('two OACKs (first send and its one retry)', () => c.got.length >= 2, 2000, 5);
    await sleep(150); // the transfer is silent now: its unconfirmed sends are used up
    const before = c.got.length;
    c.sock.send(rrq, svc.port, HOST);
    await waitFor('an answer to the repeated RRQ', () => c.got.length > before, 2000, 5);
    const ports = new Set(c.got.map((g) => g.port));
    assert.equal(ports.size, 1, 'every answer came from one port (one TID)');
    assert.equal(c.got.at(-1)!.p.op, 'oack');
    assert.equal(svc.stats().active, 1);
    // The client ACKs on that port: the same transfer delivers the file.
    const tid = c.got[0]!.port;
    const blocks: Buffer[] = [];
    c.sock.removeAllListeners('message');
    c.sock.on('message', (m, ri) => {
      if (m.readUInt16BE(0) !== 3 || ri.port !== tid) return;
      const block = m.readUInt16BE(2);
      if (block === blocks.length + 1) blocks.push(m.subarray(4));
      c.sock.send(encode({ op: 'ack', block }), tid, HOST);
    });
    c.sock.send(encode({ op: 'ack', block: 0 }), tid, HOST);
    await waitFor('the whole file', () => blocks.length === 4, 3000, 5);
    assert.ok(Buffer.concat(blocks).equals(file));
    await waitFor('ended', () => svc.stats().active === 0, 3000, 10);
    assert.equal(reports.filter((r) => r.outcome === 'complete').length, 1);
    assert.ok(!reports.some((r) => r.outcome === 'aborted'), 'nothing was replaced');
  });

  void it('at the unconfirmed cap a silent transfer is evicted before an older one that is still sending', async () => {
    reports.length = 0;
    const a = await peer(HOST);
    const b = await peer(HOST);
    a.sock.send(rrq, svc.port, HOST);
    await sleep(20);
    b.sock.send(rrq, svc.port, HOST);
    await waitFor('both silent', () => a.got.length >= 2 && b.got.length >= 2, 2000, 5);
    await sleep(150);
    a.sock.send(rrq, svc.port, HOST); // a asks again: sending again, no longer silent, still the older
    await waitFor('a answered again', () => a.got.length >= 3, 2000, 5);
    const c = await peer(HOST);
    c.sock.send(rrq, svc.port, HOST);
    await waitFor('c answered', () => c.got.length >= 1, 2000, 5);
    const evicted = reports.filter((r) => /evicted/.test(r.detail ?? ''));
    assert.equal(evicted.length, 1);
    assert.equal(evicted[0]!.client.port, b.sock.address().port, 'the silent one (b) went, not the older a');
  });
});
