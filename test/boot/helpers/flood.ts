// A bounded DHCP DISCOVER flood for the hostile-LAN tests, run inside a client namespace:
//   node flood.js '{"seedHex": "...", "count": 8000, "mac": null}'
// Sends `count` copies of the seed DISCOVER to 255.255.255.255:67 from 0.0.0.0:68, each with a fresh xid and either
// a random locally administered MAC (mac: null) or the given one, paced so the kernel queues do not overflow.
// Bounded by count and by maxMs (default 30 s). Prints {"sent": n} at the end.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { seedHex: string; count: number; mac: string | null; maxMs?: number };
const seed = Buffer.from(cfg.seedHex, 'hex');
const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
await new Promise<void>((resolve) => sock.bind(68, '0.0.0.0', resolve));
sock.setBroadcast(true);
sock.setSendBufferSize(4 * 1024 * 1024);
const deadline = Date.now() + (cfg.maxMs ?? 30_000);
let sent = 0;
for (let i = 0; i < cfg.count && Date.now() < deadline; i++) {
  const p = Buffer.from(seed);
  randomBytes(4).copy(p, 4); // xid
  if (cfg.mac === null) {
    const mac = randomBytes(6);
    mac[0] = (mac[0]! & 0xfc) | 0x02;
    mac.copy(p, 28); // chaddr
  } else {
    Buffer.from(cfg.mac.replace(/:/g, ''), 'hex').copy(p, 28);
  }
  await new Promise<void>((resolve) => sock.send(p, 67, '255.255.255.255', () => resolve()));
  sent++;
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5));
}
sock.close();
process.stdout.write(JSON.stringify({ sent }) + '\n');
