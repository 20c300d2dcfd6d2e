// Minimal pcap reader for the TFTP fixtures (classic pcap, Ethernet, IPv4, UDP). Test helper, not a codec under test.
// Captures may be truncated (incl_len < orig_len): `truncated` says so and `payload` holds what was captured.

import fs from 'node:fs';

export interface UdpRecord {
  index: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  payload: Buffer;
  truncated: boolean;
}

export function readUdpPcap(file: string): UdpRecord[] {
  const buf = fs.readFileSync(file);
  const magic = buf.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${file}: not a little-endian pcap`);
  if (buf.readUInt32LE(20) !== 1) throw new Error(`${file}: link type is not Ethernet`);
  const out: UdpRecord[] = [];
  let pos = 24;
  let index = 0;
  while (pos + 16 <= buf.length) {
    const incl = buf.readUInt32LE(pos + 8);
    const orig = buf.readUInt32LE(pos + 12);
    const frame = buf.subarray(pos + 16, pos + 16 + incl);
    pos += 16 + incl;
    index++;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    const ihl = (ip[0]! & 0x0f) * 4;
    if (ip[9] !== 17) continue;
    const udp = ip.subarray(ihl);
    const udpLen = udp.readUInt16BE(4);
    const payload = udp.subarray(8, Math.min(udpLen, udp.length));
    out.push({
      index,
      src: [...ip.subarray(12, 16)].join('.'),
      dst: [...ip.subarray(16, 20)].join('.'),
      sport: udp.readUInt16BE(0),
      dport: udp.readUInt16BE(2),
      payload,
      truncated: incl < orig,
    });
  }
  return out;
}
