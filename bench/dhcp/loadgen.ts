// PXE DISCOVER load generator, run inside the client namespace by bench/dhcp/run.ts.
// Binds 0.0.0.0:68, broadcasts DISCOVERs (unique xid and chaddr; options 53, 55, 57, 60, 93, 94, 97 as an EDK2 x64
// client) and matches OFFERs by xid. Prints one JSON line with the result. Bounded in count and time.
//   closed: `concurrency` DISCOVERs outstanding, `count` in total (or until maxMs); a DISCOVER unanswered after
//           timeoutMs counts as a drop and is replaced.
//   open:   `rate` DISCOVERs per second for `count` DISCOVERs, whatever the replies; latency per reply.
import dgram from 'node:dgram';
import { encode, MAGIC_COOKIE, MSG, OPT, type DhcpPacket } from '../../src/dhcp/codec.js';

interface Args {
  mode: 'closed' | 'open';
  count: number;
  concurrency?: number;
  rate?: number;
  timeoutMs: number;
  maxMs: number;
  server: string;
}
const a = JSON.parse(process.argv[2] ?? '{}') as Args;

function discover(i: number): Buffer {
  const chaddr = Buffer.alloc(16);
  chaddr.writeUInt16BE(0x0200, 0); // locally administered
  chaddr.writeUInt32BE(i >>> 0, 2);
  const p: DhcpPacket = {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: (0x10000000 + i) >>> 0, secs: 0, flags: 0x8000,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr, sname: '', file: '',
    options: [
      { code: OPT.MESSAGE_TYPE, data: Buffer.from([1]) },
      { code: OPT.MAX_SIZE, data: Buffer.from([0x05, 0xc0]) },
      { code: OPT.PARAM_REQUEST, data: Buffer.from([1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135]) },
      { code: OPT.CLIENT_UUID, data: Buffer.concat([Buffer.from([0]), chaddr]) },
      { code: OPT.CLIENT_NDI, data: Buffer.from([1, 3, 0]) },
      { code: OPT.CLIENT_ARCH, data: Buffer.from([0, 7]) },
      { code: OPT.VENDOR_CLASS, data: Buffer.from('PXEClient:Arch:00007:UNDI:003016') },
    ],
  };
  return encode(p, 0);
}

const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
await new Promise<void>((r) => sock.bind(68, '0.0.0.0', r));
sock.setBroadcast(true);
sock.setRecvBufferSize(4 << 20);
sock.setSendBufferSize(4 << 20);

const sentAt = new Map<number, bigint>();
const latUs: number[] = [];
let answered = 0;
let sent = 0;
let dropped = 0;
let onAnswer: (() => void) | null = null;

/**
 * The xid of a BOOTREPLY whose option 53 is OFFER, else null. Reads only the header and walks the option TLVs without
 * decoding them: the generator's cost per reply must not depend on which options a server chooses to send.
 */
function offerXid(msg: Buffer): number | null {
  if (msg.length < 241 || msg[0] !== 2 || msg.readUInt32BE(236) !== MAGIC_COOKIE) return null;
  for (let i = 240; i < msg.length && msg[i] !== OPT.END; ) {
    if (msg[i] === OPT.PAD) {
      i++;
      continue;
    }
    if (i + 2 >= msg.length) return null;
    if (msg[i] === OPT.MESSAGE_TYPE) return msg[i + 1] === 1 && msg[i + 2] === MSG.OFFER ? msg.readUInt32BE(4) : null;
    i += 2 + msg[i + 1]!;
  }
  return null;
}

sock.on('message', (msg, rinfo) => {
  if (rinfo.address !== a.server) return;
  const xid = offerXid(msg);
  if (xid === null) return;
  const t = sentAt.get(xid);
  if (t === undefined) return;
  sentAt.delete(xid);
  latUs.push(Number(process.hrtime.bigint() - t) / 1000);
  answered++;
  onAnswer?.();
});

const send = (i: number): void => {
  const buf = discover(i);
  sentAt.set((0x10000000 + i) >>> 0, process.hrtime.bigint());
  sent++;
  sock.send(buf, 67, '255.255.255.255');
};

const started = process.hrtime.bigint();
const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;

if (a.mode === 'closed') {
  let next = 0;
  await new Promise<void>((resolve) => {
    const fill = (): void => {
      while (sentAt.size < (a.concurrency ?? 32) && next < a.count && elapsedMs() < a.maxMs) send(next++);
      if (sentAt.size === 0) resolve();
    };
    onAnswer = fill;
    // Expire unanswered DISCOVERs so a drop does not stall the loop.
    const sweep = setInterval(() => {
      const now = process.hrtime.bigint();
      for (const [xid, t] of sentAt) {
        if (Number(now - t) / 1e6 > a.timeoutMs) {
          sentAt.delete(xid);
          dropped++;
        }
      }
      fill();
      if (elapsedMs() > a.maxMs + a.timeoutMs) {
        dropped += sentAt.size;
        sentAt.clear();
        resolve();
      }
    }, 50);
    fill();
    void new Promise<void>((r) => {
      const check = setInterval(() => {
        if (sentAt.size === 0 && (next >= a.count || elapsedMs() >= a.maxMs)) {
          clearInterval(check);
          r();
        }
      }, 5);
    }).then(() => {
      clearInterval(sweep);
      resolve();
    });
  });
} else {
  const rate = a.rate ?? 1000;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      // Send every DISCOVER whose scheduled time has come (1 ms timer granularity).
      const due = Math.min(a.count, Math.floor((elapsedMs() * rate) / 1000) + 1);
      while (i < due) send(i++);
      if (i >= a.count || elapsedMs() > a.maxMs) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await new Promise((r) => setTimeout(r, a.timeoutMs));
  dropped = sentAt.size;
}
const seconds = elapsedMs() / 1000;
latUs.sort((x, y) => x - y);
const pct = (q: number): number => (latUs.length ? latUs[Math.min(latUs.length - 1, Math.floor(q * latUs.length))]! : NaN);
process.stdout.write(JSON.stringify({ mode: a.mode, sent, answered, dropped, seconds, perSecond: answered / seconds, p50us: pct(0.5), p99us: pct(0.99), maxUs: latUs.at(-1) ?? NaN }) + '\n');
sock.close();
