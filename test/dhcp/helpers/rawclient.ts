// A raw DHCP client for tests, run inside a client namespace: binds address:port, sends the given packets (hex),
// optionally a bounded fuzz stream first, and prints every datagram it receives as a JSON line ({ev:'rx',...}),
// then {ev:'done', sent}. Bounded: exits after listenMs (and fuzz.maxMs).
import dgram from 'node:dgram';
import type { RawClientConfig } from './lab.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as RawClientConfig;
const out = (o: Record<string, unknown>): boolean => process.stdout.write(JSON.stringify(o) + '\n');

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
sock.on('message', (msg, rinfo) => out({ ev: 'rx', from: rinfo.address, port: rinfo.port, hex: msg.toString('hex') }));
await new Promise<void>((resolve) => sock.bind(cfg.bind.port, cfg.bind.address, resolve));
sock.setBroadcast(true);
sock.setSendBufferSize(4 * 1024 * 1024);

const send = (buf: Buffer, port: number, to: string): Promise<void> =>
  new Promise((resolve) => sock.send(buf, port, to, () => resolve())); // send errors (ENOBUFS) are part of fuzzing

let sent = 0;
if (cfg.fuzz) {
  const f = cfg.fuzz;
  const seeds = f.seedsHex.map((h) => Buffer.from(h, 'hex'));
  const r = rng(f.seed);
  const deadline = Date.now() + f.maxMs;
  for (let i = 0; i < f.count && Date.now() < deadline; i++) {
    let buf: Buffer;
    if (i % 4 === 0) {
      buf = Buffer.alloc(Math.floor(r() * 600));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(r() * 256);
      if (buf.length >= 240 && r() < 0.7) buf.writeUInt32BE(0x63825363, 236);
      if (buf.length > 0 && r() < 0.5) buf[0] = 1;
    } else {
      const src = seeds[i % seeds.length]!;
      buf = Buffer.from(src.subarray(0, r() < 0.2 ? Math.floor(r() * src.length) : src.length));
      const flips = 1 + Math.floor(r() * 8);
      for (let k = 0; k < flips && buf.length > 240; k++) buf[240 + Math.floor(r() * (buf.length - 240))] = Math.floor(r() * 256);
      if (buf.length > 0 && r() < 0.3) buf[Math.floor(r() * Math.min(buf.length, 240))] = Math.floor(r() * 256);
    }
    const t = f.targets[i % f.targets.length]!;
    await send(buf, t.port, t.to);
    sent++;
    // Paced (50 packets per ms at most) so that the packets reach the responder instead of overflowing the
    // kernel's receive queue: the point is to exercise the handler.
    if (i % 50 === 49) await new Promise((res) => setTimeout(res, 1));
  }
}
if (cfg.settleMs) await new Promise((res) => setTimeout(res, cfg.settleMs));
for (let round = 0; round < (cfg.repeat ?? 1); round++) {
  if (round > 0) await new Promise((res) => setTimeout(res, 500));
  for (const s of cfg.send ?? []) {
    await send(Buffer.from(s.hex, 'hex'), s.port, s.to);
    sent++;
  }
}
setTimeout(() => {
  out({ ev: 'done', sent });
  sock.close();
}, cfg.listenMs);
