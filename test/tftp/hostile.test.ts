// Issue 14 item 6: forged or broken clients cannot starve the TFTP caps or make the server send without bound.
// TftpService on loopback with a kernel-chosen port (root namespace, loopback only); attackers are sockets on
// distinct 127.0.x.y addresses that never ACK, so the per-client cap is not what stops them.

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
import { peer, rrqPacket, tftpGet } from './client.js';

const HOST = '127.0.0.1';
let dir: string;
const small = crypto.randomBytes(512 * 10 + 1);
const big = crypto.randomBytes(3 * 1024 * 1024 + 5);
const reports: TftpTransferReport[] = [];
let svc: TftpService;


before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tftp-hostile-'));
  fs.writeFileSync(path.join(dir, 'small.bin'), small);
  fs.writeFileSync(path.join(dir, 'big.bin'), big);
  svc = new TftpService({
    listen: [HOST],
    port: 0,
    roots: [dir],
    timeoutMs: 150,
    retransmitRatio: 1,
    policy: { tftpOpen: () => Promise.resolve(null), tftpTransferred: (r) => reports.push(r) },
  });
  await svc.start();
});

after(async () => {
  await svc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

void describe('TFTP under hostile clients', () => {
  void it('200 never-ACKed RRQs: at most 2 packets each, and a real client is still served at once', async () => {
    const attackers = await Promise.all(Array.from({ length: 200 }, (_, i) => peer(`127.0.${1 + Math.floor(i / 100)}.${10 + (i % 100)}`)));
    for (const a of attackers) a.sock.send(rrqPacket('small.bin'), svc.port, HOST);
    await waitFor('every attacker answered', () => attackers.every((a) => a.got.length > 0), 5000, 10);
    // A legitimate download right after the flood (before the fix: "server busy" for the whole retry schedule).
    const got = await tftpGet({ host: HOST, port: svc.port, file: 'small.bin' });
    assert.ok(got.data.equals(small));
    assert.ok(svc.stats().evicted > 0, 'unconfirmed transfers were evicted to make room');
    await new Promise((r) => setTimeout(r, 1200)); // past the second try (150 + 300 ms) and then some
    const most = Math.max(...attackers.map((a) => a.got.filter((g) => g.p.op === 'data').length));
    assert.ok(most <= 2, `an unverified RRQ drew ${most} DATA packets`);
    for (const a of attackers) a.sock.close();
    assert.ok(svc.stats().active <= 64, `active ${svc.stats().active}`);
  });

  void it('retransmitted bytes are capped per transfer (window restarts on every ACK)', async () => {
    let acked = 0;
    const c = await peer(HOST, (p, port, s) => {
      if (p.op === 'oack') s.send(encode({ op: 'ack', block: 0 }), port, HOST);
      // Acknowledge one block at a time, as a lossy EDK2 does: every ACK restarts the window below what was sent.
      if (p.op === 'data' && p.block === ((acked + 1) & 0xffff)) {
        acked++;
        s.send(encode({ op: 'ack', block: p.block }), port, HOST);
      }
    });
    c.sock.send(rrqPacket('big.bin', [['blksize', '1468'], ['windowsize', '8']]), svc.port, HOST);
    await waitFor('transfer ended', () => c.got.some((g) => g.p.op === 'error'), 30_000, 20);
    c.sock.close();
    const err = c.got.find((g) => g.p.op === 'error')!.p;
    assert.ok(err.op === 'error' && /too many retransmissions/.test(err.message));
    const r = reports.find((x) => x.path === 'big.bin');
    assert.equal(r?.outcome, 'retransmit-cap');
    const sent = c.got.filter((g) => g.p.op === 'data').reduce((n, g) => n + (g.p.op === 'data' ? g.p.data.length : 0), 0);
    assert.ok(sent < 4 * 1024 * 1024 + acked * 1468 + 8 * 1468, `sent ${sent} bytes for ${acked} blocks`);
  });

  void it('the same RRQ again after the transfer stalled restarts it (counted once, no stale transfer)', async () => {
    await waitFor('idle', () => svc.stats().active === 0, 10_000, 20);
    const c = await peer(HOST, (p, port, s) => {
      if (p.op === 'data' && p.block === 1 && c.got.filter((g) => g.p.op === 'data').length === 1) s.send(encode({ op: 'ack', block: 1 }), port, HOST);
    });
    c.sock.send(rrqPacket('small.bin'), svc.port, HOST);
    await waitFor('DATA 2', () => c.got.some((g) => g.p.op === 'data' && g.p.block === 2), 2000, 5);
    const firstTid = c.got[0]!.port;
    await new Promise((r) => setTimeout(r, 250)); // no ACK for longer than the timeout: the client restarted
    c.sock.send(rrqPacket('small.bin'), svc.port, HOST);
    await waitFor('a fresh DATA 1', () => c.got.some((g) => g.p.op === 'data' && g.p.block === 1 && g.port !== firstTid), 2000, 5);
    assert.equal(svc.stats().active, 1, 'one transfer for this client, not two');
    assert.ok(reports.some((r) => r.outcome === 'aborted' && /restarted/.test(r.detail ?? '')));
    c.sock.close();
  });
});
