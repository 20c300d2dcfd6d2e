// The one pcap reader of the test helpers: the classic libpcap file format (µs or ns timestamps, either byte
// order), Ethernet II (with one optional 802.1Q tag), IPv4, UDP and TCP. Pure: bytes in, records out. Test helper,
// not a codec under test. Also a flat UDP view (udpRecords) and a minimal BOOTP/DHCP view (RFC 2131 §2 fixed fields
// + options), enough to tell who answered whom.

import fs from 'node:fs';

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

export interface Packet {
  /** 1-based record number in the file. */
  index: number;
  /** Seconds since the epoch (fractional). */
  time: number;
  /** The record was cut by the snap length (incl_len < orig_len): payloads hold what was captured. */
  truncated: boolean;
  srcMac: string;
  dstMac: string;
  etherType: number;
  ipv4?: {
    src: string;
    dst: string;
    protocol: number;
  };
  udp?: { srcPort: number; dstPort: number; payload: Buffer };
  tcp?: { srcPort: number; dstPort: number; flags: number; payload: Buffer };
}

function mac(buf: Buffer, off: number): string {
  return [...buf.subarray(off, off + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function ip4(buf: Buffer, off: number): string {
  return [...buf.subarray(off, off + 4)].join('.');
}

/** Decodes one Ethernet frame (as captured, possibly truncated by the snap length). */
export function decodeFrame(frame: Buffer, time: number, index = 0, truncated = false): Packet | null {
  if (frame.length < 14) return null;
  let off = 12;
  let etherType = frame.readUInt16BE(off);
  off += 2;
  if (etherType === ETHERTYPE_VLAN && frame.length >= 18) {
    etherType = frame.readUInt16BE(off + 2);
    off += 4;
  }
  const pkt: Packet = { index, time, truncated, dstMac: mac(frame, 0), srcMac: mac(frame, 6), etherType };
  if (etherType !== ETHERTYPE_IPV4 || frame.length < off + 20) return pkt;
  const ihl = (frame[off]! & 0x0f) * 4;
  const totalLen = frame.readUInt16BE(off + 2);
  const protocol = frame[off + 9]!;
  pkt.ipv4 = { src: ip4(frame, off + 12), dst: ip4(frame, off + 16), protocol };
  const l4 = off + ihl;
  const l4End = Math.min(frame.length, off + totalLen);
  if (protocol === IPPROTO_UDP && l4End >= l4 + 8) {
    pkt.udp = {
      srcPort: frame.readUInt16BE(l4),
      dstPort: frame.readUInt16BE(l4 + 2),
      payload: frame.subarray(l4 + 8, l4End),
    };
  } else if (protocol === IPPROTO_TCP && l4End >= l4 + 20) {
    const dataOff = (frame[l4 + 12]! >> 4) * 4;
    pkt.tcp = {
      srcPort: frame.readUInt16BE(l4),
      dstPort: frame.readUInt16BE(l4 + 2),
      flags: frame[l4 + 13]!,
      payload: frame.subarray(Math.min(l4 + dataOff, l4End), l4End),
    };
  }
  return pkt;
}

/** Parses a whole pcap file. A truncated last record (capture stopped mid-write) is dropped. */
export function parsePcap(buf: Buffer): Packet[] {
  if (buf.length < 24) throw new Error('pcap: file shorter than the global header');
  let le: boolean;
  let nanos: boolean;
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
    le = true;
    nanos = magicLE === PCAP_MAGIC_NS;
  } else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) {
    le = false;
    nanos = magicBE === PCAP_MAGIC_NS;
  } else {
    throw new Error(`pcap: bad magic 0x${magicBE.toString(16)}`);
  }
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const linkType = u32(20);
  if (linkType !== LINKTYPE_ETHERNET) throw new Error(`pcap: link type ${linkType} is not Ethernet`);
  const packets: Packet[] = [];
  let off = 24;
  let index = 0;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const inclLen = u32(off + 8);
    const origLen = u32(off + 12);
    if (off + 16 + inclLen > buf.length) break;
    const time = sec + frac / (nanos ? 1e9 : 1e6);
    index++;
    const pkt = decodeFrame(buf.subarray(off + 16, off + 16 + inclLen), time, index, inclLen < origLen);
    if (pkt) packets.push(pkt);
    off += 16 + inclLen;
  }
  return packets;
}

export function readPcap(file: string): Packet[] {
  return parsePcap(fs.readFileSync(file));
}

/** One UDP/IPv4 datagram of a capture, flattened. */
export interface UdpRecord {
  index: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  payload: Buffer;
  truncated: boolean;
}

/** The UDP/IPv4 datagrams of a capture, in order. */
export function udpRecords(packets: Packet[]): UdpRecord[] {
  const out: UdpRecord[] = [];
  for (const p of packets) {
    if (!p.ipv4 || !p.udp) continue;
    out.push({ index: p.index, src: p.ipv4.src, dst: p.ipv4.dst, sport: p.udp.srcPort, dport: p.udp.dstPort, payload: p.udp.payload, truncated: p.truncated });
  }
  return out;
}

// ---- BOOTP/DHCP (RFC 2131 §2, RFC 2132) ----

export const DHCP_MESSAGE_TYPES = ['', 'DISCOVER', 'OFFER', 'REQUEST', 'DECLINE', 'ACK', 'NAK', 'RELEASE', 'INFORM'];
const BOOTP_FIXED = 236;
const MAGIC_COOKIE = 0x63825363;

export interface DhcpView {
  op: number;
  xid: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: string;
  file: string;
  /** Option 53 as a name ('' when absent). */
  type: string;
  options: Map<number, Buffer>;
}

/** Decodes a BOOTP payload, or null when it is not one (too short, no magic cookie). */
export function decodeDhcp(payload: Buffer): DhcpView | null {
  if (payload.length < BOOTP_FIXED + 4 || payload.readUInt32BE(BOOTP_FIXED) !== MAGIC_COOKIE) return null;
  const options = new Map<number, Buffer>();
  let off = BOOTP_FIXED + 4;
  while (off < payload.length) {
    const code = payload[off]!;
    if (code === 255) break;
    if (code === 0) {
      off++;
      continue;
    }
    const len = payload[off + 1];
    if (len === undefined || off + 2 + len > payload.length) break;
    options.set(code, payload.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  const fileRaw = payload.subarray(108, 236);
  const nul = fileRaw.indexOf(0);
  return {
    op: payload[0]!,
    xid: payload.readUInt32BE(4),
    ciaddr: ip4(payload, 12),
    yiaddr: ip4(payload, 16),
    siaddr: ip4(payload, 20),
    giaddr: ip4(payload, 24),
    chaddr: mac(payload, 28),
    file: fileRaw.subarray(0, nul < 0 ? fileRaw.length : nul).toString('latin1'),
    type: DHCP_MESSAGE_TYPES[options.get(53)?.[0] ?? 0] ?? '',
    options,
  };
}

/** DHCP/BOOTP packets (UDP ports 67, 68, 4011) with their decoded view. */
export function dhcpPackets(packets: Packet[]): Array<{ pkt: Packet; dhcp: DhcpView }> {
  const out: Array<{ pkt: Packet; dhcp: DhcpView }> = [];
  for (const pkt of packets) {
    if (!pkt.udp) continue;
    const ports = [pkt.udp.srcPort, pkt.udp.dstPort];
    if (!ports.some((p) => p === 67 || p === 68 || p === 4011)) continue;
    const dhcp = decodeDhcp(pkt.udp.payload);
    if (dhcp) out.push({ pkt, dhcp });
  }
  return out;
}
