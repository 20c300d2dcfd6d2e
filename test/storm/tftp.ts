// The simulated machines' TFTP read, built on the project's codec (src/tftp/codec.ts): a firmware-like client bound
// to the machine's own address, lock-step (RFC 1350, as PXE ROMs do) or windowed (RFC 7440 windowsize, as EDK2
// asks), blksize and tsize negotiated. A windowed read answers every unexpected block with an ACK of its last
// in-order block, as EDK2 does. On silence it re-sends its last ACK (or the RRQ) after `timeoutMs`; after
// `retries` silent periods, or an ERROR, the transfer is given up and started again from the RRQ, as a ROM retrying
// its boot does (`restarts`). After the last block it dallies, re-sending the final ACK if the last block comes
// again. The data is hashed as it arrives (SHA-256), not kept.

import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { decode, encode, type TftpPacket } from '../../src/tftp/codec.js';

/** How long a finished read keeps answering a repeated last block. */
const DALLY_MS = 3000;

export interface TftpReadOptions {
  localAddress: string;
  server: string;
  /** The server's request port (default 69). */
  port?: number;
  file: string;
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  retries: number;
  /** Whole-transfer attempts (first included) before failing. */
  attempts: number;
  /** Absolute deadline (ms since epoch): no attempt starts or continues past it. */
  deadline: number;
}

export interface TftpReadResult {
  bytes: number;
  sha256: string;
  /** ACK/RRQ re-sends after a silent period. */
  retransmits: number;
  /** Transfers started again from the RRQ. */
  restarts: number;
}

interface Attempt {
  ok: boolean;
  bytes: number;
  sha256: string;
  retransmits: number;
  why: string;
}

function attempt(o: TftpReadOptions): Promise<Attempt> {
  const sock = dgram.createSocket('udp4');
  const options: Array<[string, string]> = [['blksize', String(o.blksize)], ['tsize', '0']];
  if (o.windowsize > 1) options.push(['windowsize', String(o.windowsize)]);
  const rrq = encode({ op: 'rrq', filename: o.file, mode: 'octet', options: options.map(([name, value]) => ({ name, value })) });
  const hash = createHash('sha256');
  let blksize = 512;
  let window = 1;
  let tid = -1;
  let expected = 1;
  let inWindow = 0;
  let bytes = 0;
  let silent = 0;
  /** Packets from the server heard since the last in-order one (duplicates, gaps, a stray port): for the report. */
  let heardWhileSilent = 0;
  let retransmits = 0;
  let last: Buffer = rrq;
  return new Promise<Attempt>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (ok: boolean, why: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // The last ACK must leave before the socket closes (dgram sends complete asynchronously).
      if (!ok) {
        sock.close();
      } else {
        // Dally (RFC 1350 §6): the final ACK may be lost; answer a repeated last block with it for a while.
        const lastBlock = (expected - 1) & 0xffff;
        sock.removeAllListeners('message');
        sock.on('message', (msg, rinfo) => {
          if (rinfo.port === tid && msg.length >= 4 && msg.readUInt16BE(0) === 3 && msg.readUInt16BE(2) === lastBlock) sock.send(last, tid, o.server);
        });
        sock.send(last, tid, o.server);
        setTimeout(() => sock.close(), DALLY_MS);
      }
      resolve({ ok, bytes, sha256: ok ? hash.digest('hex') : '', retransmits, why });
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (++silent > o.retries || Date.now() > o.deadline) {
          return finish(false, `silent after ${silent - 1} re-sends (waiting for block ${expected}, server port ${tid}, ${heardWhileSilent} other packets heard meanwhile)`);
        }
        retransmits++;
        inWindow = 0;
        sock.send(last, tid > 0 ? tid : (o.port ?? 69), o.server);
        arm();
      }, o.timeoutMs);
    };
    const ack = (block: number): void => {
      last = encode({ op: 'ack', block: block & 0xffff });
      sock.send(last, tid, o.server);
    };
    sock.on('error', (err) => finish(false, err.message));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== o.server) return;
      if (tid < 0) tid = rinfo.port;
      heardWhileSilent++;
      if (rinfo.port !== tid) return;
      let p: TftpPacket;
      try {
        p = decode(msg);
      } catch {
        return;
      }
      if (p.op === 'error') return finish(false, `ERROR ${p.code} ${p.message}`);
      if (p.op === 'oack') {
        if (expected !== 1) return;
        for (const opt of p.options) {
          const name = opt.name.toLowerCase();
          if (name === 'blksize') blksize = Number(opt.value);
          if (name === 'windowsize') window = Number(opt.value);
        }
        silent = 0;
        heardWhileSilent = 0;
        ack(0);
        arm();
        return;
      }
      if (p.op !== 'data') return;
      if (p.block !== (expected & 0xffff)) {
        // A gap or a block we already have: a windowed (EDK2) client acknowledges its last in-order block at once,
        // for every such block (docs/protocol.md §6, EDK2 Mtftp4RrqHandleData), so the sender restarts there
        // (RFC 7440 §4). Answering only the first of a window, as this client once did, deadlocked under loss: its
        // timer re-sends its last ACK, which is stale once in-order blocks came after it; pxed ignores that as a
        // duplicate, and the window pxed re-sends holds only blocks the client already has, so neither side moved.
        if (window > 1) {
          inWindow = 0;
          ack(expected - 1);
        }
        return;
      }
      hash.update(p.data);
      bytes += p.data.length;
      expected++;
      inWindow++;
      silent = 0;
      heardWhileSilent = 0;
      if (p.data.length < blksize) {
        last = encode({ op: 'ack', block: (expected - 1) & 0xffff });
        return finish(true, ''); // finish() sends this final ACK
      }
      if (inWindow >= window) {
        inWindow = 0;
        ack(expected - 1);
      }
      arm();
    });
    sock.bind(0, o.localAddress, () => {
      sock.send(rrq, o.port ?? 69, o.server);
      arm();
    });
  });
}

export async function tftpRead(o: TftpReadOptions): Promise<TftpReadResult> {
  let retransmits = 0;
  const why: string[] = [];
  for (let n = 0; n < o.attempts && Date.now() < o.deadline; n++) {
    const a = await attempt(o);
    retransmits += a.retransmits;
    if (a.ok) return { bytes: a.bytes, sha256: a.sha256, retransmits, restarts: n };
    why.push(a.why);
    // A ROM waits a moment before it retries the boot.
    await new Promise((r) => setTimeout(r, 200 + Math.floor(Math.random() * 300)));
  }
  throw new Error(`TFTP ${o.file} failed after ${why.length} attempts: ${why.join('; ')}`);
}
