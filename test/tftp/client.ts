// A small TFTP read client for tests and the benchmark: options, RFC 7440 windows, rollover, re-ACK on timeout.
// Also raw helpers to send hand-made packets and collect replies. Every wait is bounded.

import dgram from 'node:dgram';
import { decode, encode, type TftpOption, type TftpPacket } from '../../src/tftp/codec.js';

export interface GetOptions {
  host: string;
  port: number;
  file: string;
  /** Options to request, in order (e.g. [['blksize','1468'],['windowsize','8']]). */
  options?: Array<[string, string]>;
  /** Client-side retransmission timeout (ms) and attempts before giving up. */
  timeoutMs?: number;
  retries?: number;
  /** Keep received data (false = count bytes only, for benchmarks). */
  keep?: boolean;
}

export interface GetResult {
  data: Buffer;
  bytes: number;
  oack: Record<string, string> | null;
  /** Source port of the server's transfer socket (its TID). */
  serverPort: number;
  blocks: number;
}

export class TftpClientError extends Error {
  constructor(
    message: string,
    readonly tftpCode: number | null,
  ) {
    super(message);
  }
}

export function tftpGet(o: GetOptions): Promise<GetResult> {
  const timeoutMs = o.timeoutMs ?? 1000;
  const retries = o.retries ?? 5;
  const keep = o.keep ?? true;
  const sock = dgram.createSocket('udp4');
  const rrq = encode({ op: 'rrq', filename: o.file, mode: 'octet', options: (o.options ?? []).map(([name, value]) => ({ name, value })) });
  const requested = new Map((o.options ?? []).map(([k, v]) => [k.toLowerCase(), v]));
  let blksize = 512;
  let window = 1;
  let serverPort = -1;
  let expected = 1; // absolute next block
  let inWindow = 0;
  let lastAck: Buffer | null = null;
  const chunks: Buffer[] = [];
  let bytes = 0;
  let oack: Record<string, string> | null = null;
  let attempts = 0;
  const ack = (abs: number): Buffer => encode({ op: 'ack', block: abs & 0xffff });

  return new Promise<GetResult>((resolve, reject) => {
    let timer: NodeJS.Timeout;
    let finished = false;
    const done = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // Close only after queued sends (the final ACK) have left: dgram sends complete asynchronously.
      void lastSend.then(() => sock.close());
      if (err) reject(err);
      else resolve({ data: Buffer.concat(chunks), bytes, oack, serverPort, blocks: expected - 1 });
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (++attempts > retries) return done(new TftpClientError(`timeout fetching ${o.file}`, null));
        if (serverPort < 0) sock.send(rrq, o.port, o.host);
        else if (lastAck) sock.send(lastAck, serverPort, o.host);
        inWindow = 0;
        arm();
      }, timeoutMs);
    };
    let lastSend: Promise<void> = Promise.resolve();
    const sendAck = (abs: number): void => {
      lastAck = ack(abs);
      lastSend = new Promise<void>((r) => sock.send(lastAck!, serverPort, o.host, () => r()));
    };
    sock.on('error', (err) => done(err));
    sock.on('message', (msg, rinfo) => {
      if (serverPort < 0) serverPort = rinfo.port;
      if (rinfo.port !== serverPort) return;
      let p: TftpPacket;
      try {
        p = decode(msg);
      } catch {
        return;
      }
      if (p.op === 'error') return done(new TftpClientError(`server error ${p.code}: ${p.message}`, p.code));
      if (p.op === 'oack') {
        if (expected !== 1) return;
        oack = {};
        for (const opt of p.options) oack[opt.name.toLowerCase()] = opt.value;
        for (const k of Object.keys(oack)) if (!requested.has(k)) return done(new TftpClientError(`unrequested option ${k} in OACK`, null));
        if (oack.blksize) blksize = Number(oack.blksize);
        if (oack.windowsize) window = Number(oack.windowsize);
        attempts = 0;
        sendAck(0);
        arm();
        return;
      }
      if (p.op !== 'data') return;
      if (p.block !== (expected & 0xffff)) {
        // Out of order or duplicate: re-acknowledge what we have so the server restarts there (RFC 7440 §4).
        if (window > 1 && inWindow > 0) {
          sendAck(expected - 1);
          inWindow = 0;
        }
        return;
      }
      if (keep) chunks.push(Buffer.from(p.data));
      bytes += p.data.length;
      expected++;
      inWindow++;
      attempts = 0;
      if (p.data.length < blksize) {
        sendAck(expected - 1);
        return done(null);
      }
      if (inWindow >= window) {
        inWindow = 0;
        sendAck(expected - 1);
      }
      arm();
    });
    sock.bind(0, () => {
      sock.send(rrq, o.port, o.host);
      arm();
    });
  });
}

/** Sends raw packets from one socket and collects every reply for `waitMs`. */
export async function exchange(
  host: string,
  port: number,
  packets: Buffer[],
  waitMs = 300,
): Promise<Array<{ packet: TftpPacket | null; raw: Buffer; port: number }>> {
  const sock = dgram.createSocket('udp4');
  const replies: Array<{ packet: TftpPacket | null; raw: Buffer; port: number }> = [];
  sock.on('message', (raw, rinfo) => {
    let packet: TftpPacket | null;
    try {
      packet = decode(raw);
    } catch {
      packet = null;
    }
    replies.push({ packet, raw, port: rinfo.port });
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  for (const p of packets) sock.send(p, port, host);
  await new Promise((r) => setTimeout(r, waitMs));
  sock.close();
  return replies;
}

export const rrqPacket = (filename: string, options: Array<[string, string]> = [], mode = 'octet'): Buffer =>
  encode({ op: 'rrq', filename, mode, options: options.map(([name, value]): TftpOption => ({ name, value })) });

/** Sends one datagram and resolves once it has left (so closing the socket afterwards cannot drop it). */
export function sendNow(sock: dgram.Socket, msg: Buffer, port: number, host: string): Promise<void> {
  return new Promise((resolve) => sock.send(msg, port, host, () => resolve()));
}

/** A raw UDP peer that records every packet it gets (with the sender's port) and may answer from `onData`. */
export interface Peer {
  sock: dgram.Socket;
  got: Array<{ p: TftpPacket; port: number }>;
}

export async function peer(address: string, onData?: (p: TftpPacket, port: number, s: dgram.Socket) => void): Promise<Peer> {
  const sock = dgram.createSocket('udp4');
  const got: Peer['got'] = [];
  sock.on('message', (m, ri) => {
    const p = decode(m);
    got.push({ p, port: ri.port });
    onData?.(p, ri.port, sock);
  });
  await new Promise<void>((r) => sock.bind(0, address, r));
  return { sock, got };
}
