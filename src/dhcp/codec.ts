// DHCPv4 wire codec (RFC 2131 fixed header, RFC 2132 options). Pure: no I/O, no logging, no policy.
//
// Contract:
// - decode(buf) returns a DhcpPacket or throws PxedError 'DHCP_MALFORMED' whose details.reading says which field or
//   option was being read. It never throws anything else, whatever the bytes (fuzz-tested).
// - Options are kept raw (code + bytes) in first-appearance order. Several TLVs with the same code are concatenated
//   (RFC 3396 §5, options field, then `file`, then `sname`). Option overload (52, RFC 2132 §9.3) is applied on decode:
//   the overloaded field's options are merged and the field itself reads as ''. Option 52 is dropped from the list,
//   because encode() never emits it (docs/protocol.md §2.1).
// - encode(packet) writes options in list order, splits values longer than 255 bytes into consecutive TLVs
//   (RFC 3396), ends with 255 and zero-pads to at least `minSize` (300, dnsmasq MIN_PACKETSZ; docs/protocol.md Q20).
// - decode(encode(p)) deep-equals p for every p that decode() produced.

import { PxedError } from '../errors.js';

// RFC 2131 §2, Table 1 offsets.
const OFF_OP = 0;
export const OFF_HTYPE = 1;
export const OFF_HLEN = 2;
const OFF_HOPS = 3;
export const OFF_XID = 4;
const OFF_SECS = 8;
const OFF_FLAGS = 10;
const OFF_CIADDR = 12;
const OFF_YIADDR = 16;
const OFF_SIADDR = 20;
const OFF_GIADDR = 24;
export const OFF_CHADDR = 28;
export const LEN_CHADDR = 16;
const OFF_SNAME = 44;
const LEN_SNAME = 64;
const OFF_FILE = 108;
const LEN_FILE = 128;
const OFF_COOKIE = 236;
/** RFC 2131 §3: 99.130.83.99. */
export const MAGIC_COOKIE = 0x63825363;
export const OFF_OPTIONS = 240;
/** dnsmasq MIN_PACKETSZ: some clients ignore shorter replies (docs/protocol.md Q20). */
export const MIN_REPLY_SIZE = 300;

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** RFC 2131 §2 flags: the B bit. */
export const FLAG_BROADCAST = 0x8000;

// RFC 2132 option codes used by pxed.
export const OPT = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  BOOT_SIZE: 13,
  DOMAIN: 15,
  VENDOR: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_REQUEST: 55,
  MESSAGE: 56,
  MAX_SIZE: 57,
  RENEWAL_T1: 58,
  REBINDING_T2: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER: 66,
  BOOTFILE: 67,
  USER_CLASS: 77,
  RELAY_AGENT: 82,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  IPXE: 175,
  END: 255,
} as const;

/** RFC 2132 §9.6. */
export const MSG = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

export const MSG_NAMES: Record<number, string> = {
  1: 'DISCOVER',
  2: 'OFFER',
  3: 'REQUEST',
  4: 'DECLINE',
  5: 'ACK',
  6: 'NAK',
  7: 'RELEASE',
  8: 'INFORM',
};

export interface DhcpOption {
  code: number;
  /** The value; several TLVs of one code are already concatenated (RFC 3396). */
  data: Buffer;
}

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** All 16 bytes (echoed verbatim in replies). */
  chaddr: Buffer;
  /** Up to the first NUL, latin1; '' when overloaded with options. */
  sname: string;
  /** Up to the first NUL, latin1; '' when overloaded with options. */
  file: string;
  options: DhcpOption[];
}

export function malformed(reading: string, detail?: Record<string, unknown>): PxedError {
  return new PxedError('DHCP_MALFORMED', `malformed DHCP packet while reading ${reading}`, { reading, ...detail });
}

const ZERO_IP = '0.0.0.0';

/** Two lower-case hex digits per byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function ipAt(buf: Buffer, off: number): string {
  // Most address fields of a request are zero: no string building for them.
  if (buf.readUInt32BE(off) === 0) return ZERO_IP;
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** Parses a dotted quad into `out` at `off`; false if it is not one. Hand-written: this runs for every reply. */
function writeIp(ip: string, out: Buffer, off: number): boolean {
  let part = 0;
  let digits = 0;
  let idx = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46; // treat the end as a final '.'
    if (c === 46) {
      if (digits === 0 || part > 255 || idx > 3) return false;
      out[off + idx++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
    } else {
      return false;
    }
  }
  return idx === 4;
}

/** A byte loop: for the few short values of a reply it is cheaper than Buffer#copy or Uint8Array#set calls. */
function copyBytes(src: Buffer, from: number, n: number, out: Buffer, at: number): void {
  for (let i = 0; i < n; i++) out[at + i] = src[from + i]!;
}

/** Buffer.write(s, off, 'latin1') (low byte of each UTF-16 unit) without the native call, for short fields. */
function writeLatin1(s: string, out: Buffer, off: number): void {
  for (let i = 0; i < s.length; i++) out[off + i] = s.charCodeAt(i) & 0xff;
}

/** Dotted quad to 4 bytes; throws DHCP_MALFORMED (reading = what) on anything else. */
export function ipToBytes(ip: string, what = 'address'): Buffer {
  const out = Buffer.alloc(4);
  if (!writeIp(ip, out, 0)) throw malformed(what, { value: ip });
  return out;
}

export function bytesToIp(b: Buffer): string {
  return ipAt(b, 0);
}

function cString(buf: Buffer, off: number, len: number): string {
  if (buf[off] === 0) return '';
  const field = buf.subarray(off, off + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('latin1');
}

/**
 * Reads TLVs from `region` into `acc` in first-appearance order; a repeated code is concatenated onto its first entry
 * (RFC 3396). Values are views into the datagram, which nothing writes to. Returns at END or when the region ends.
 */
function readOptions(region: Buffer, where: string, acc: DhcpOption[]): void {
  let i = 0;
  while (i < region.length) {
    const code = region[i]!;
    if (code === OPT.PAD) {
      i++;
      continue;
    }
    if (code === OPT.END) return;
    if (i + 1 >= region.length) throw malformed(`option ${code} length in ${where}`, { offset: i });
    const len = region[i + 1]!;
    if (i + 2 + len > region.length) throw malformed(`option ${code} value in ${where}`, { offset: i, len });
    const value = region.subarray(i + 2, i + 2 + len);
    let seen: DhcpOption | undefined;
    for (const o of acc) {
      if (o.code === code) {
        seen = o;
        break;
      }
    }
    if (seen) seen.data = Buffer.concat([seen.data, value]);
    else acc.push({ code, data: value });
    i += 2 + len;
  }
  // A missing END is tolerated (dnsmasq does too); truncated TLVs are not.
}

export function decode(buf: Buffer): DhcpPacket {
  if (buf.length < OFF_OPTIONS) throw malformed('fixed header', { length: buf.length });
  if (buf.readUInt32BE(OFF_COOKIE) !== MAGIC_COOKIE) throw malformed('magic cookie');
  const hlen = buf[OFF_HLEN]!;
  if (hlen > LEN_CHADDR) throw malformed('hlen', { hlen });

  const options: DhcpOption[] = [];
  readOptions(buf.subarray(OFF_OPTIONS), 'options', options);
  let sname = cString(buf, OFF_SNAME, LEN_SNAME);
  let file = cString(buf, OFF_FILE, LEN_FILE);
  const at52 = options.findIndex((o) => o.code === OPT.OVERLOAD);
  if (at52 >= 0) {
    const v = options[at52]!.data;
    if (v.length !== 1 || v[0]! < 1 || v[0]! > 3) throw malformed('option 52 (overload)', { len: v.length });
    // RFC 2132 §9.3: 1 = file holds options, 2 = sname, 3 = both; RFC 3396 §5 order: options, file, sname.
    if (v[0]! & 1) {
      readOptions(buf.subarray(OFF_FILE, OFF_FILE + LEN_FILE), 'file (overloaded)', options);
      file = '';
    }
    if (v[0]! & 2) {
      readOptions(buf.subarray(OFF_SNAME, OFF_SNAME + LEN_SNAME), 'sname (overloaded)', options);
      sname = '';
    }
    options.splice(at52, 1); // a 52 inside file/sname was concatenated onto this entry
  }

  return {
    op: buf[OFF_OP]!,
    htype: buf[OFF_HTYPE]!,
    hlen,
    hops: buf[OFF_HOPS]!,
    xid: buf.readUInt32BE(OFF_XID),
    secs: buf.readUInt16BE(OFF_SECS),
    flags: buf.readUInt16BE(OFF_FLAGS),
    ciaddr: ipAt(buf, OFF_CIADDR),
    yiaddr: ipAt(buf, OFF_YIADDR),
    siaddr: ipAt(buf, OFF_SIADDR),
    giaddr: ipAt(buf, OFF_GIADDR),
    chaddr: buf.subarray(OFF_CHADDR, OFF_CHADDR + LEN_CHADDR),
    sname,
    file,
    options,
  };
}

export function encode(p: DhcpPacket, minSize = MIN_REPLY_SIZE): Buffer {
  // Size first, then one zero-filled allocation (replies are built for every DISCOVER: keep this cheap).
  let optLen = 1; // END
  for (const o of p.options) {
    if (o.code === OPT.PAD || o.code === OPT.END || o.code === OPT.OVERLOAD) continue;
    optLen += o.data.length + 2 * Math.max(1, Math.ceil(o.data.length / 255));
  }
  // From Node's buffer pool (no ArrayBuffer per reply), zeroed here.
  const out = Buffer.allocUnsafe(Math.max(minSize, OFF_OPTIONS + optLen)).fill(0);
  out[OFF_OP] = p.op;
  out[OFF_HTYPE] = p.htype;
  out[OFF_HLEN] = p.hlen;
  out[OFF_HOPS] = p.hops;
  out.writeUInt32BE(p.xid >>> 0, OFF_XID);
  out.writeUInt16BE(p.secs, OFF_SECS);
  out.writeUInt16BE(p.flags, OFF_FLAGS);
  if (!writeIp(p.ciaddr, out, OFF_CIADDR)) throw malformed('ciaddr', { value: p.ciaddr });
  if (!writeIp(p.yiaddr, out, OFF_YIADDR)) throw malformed('yiaddr', { value: p.yiaddr });
  if (!writeIp(p.siaddr, out, OFF_SIADDR)) throw malformed('siaddr', { value: p.siaddr });
  if (!writeIp(p.giaddr, out, OFF_GIADDR)) throw malformed('giaddr', { value: p.giaddr });
  copyBytes(p.chaddr, 0, Math.min(LEN_CHADDR, p.chaddr.length), out, OFF_CHADDR);
  if (p.sname.length > LEN_SNAME) throw malformed('sname (too long)', { len: p.sname.length });
  if (p.file.length > LEN_FILE) throw malformed('file (too long)', { len: p.file.length });
  writeLatin1(p.sname, out, OFF_SNAME);
  writeLatin1(p.file, out, OFF_FILE);
  out.writeUInt32BE(MAGIC_COOKIE, OFF_COOKIE);
  let at = OFF_OPTIONS;
  for (const o of p.options) {
    if (o.code === OPT.PAD || o.code === OPT.END || o.code === OPT.OVERLOAD) continue;
    // RFC 3396 §7: split a long value into consecutive TLVs of at most 255 bytes. An empty value is one TLV.
    let off = 0;
    do {
      const n = Math.min(255, o.data.length - off);
      out[at++] = o.code;
      out[at++] = n;
      copyBytes(o.data, off, n, out, at);
      at += n;
      off += 255;
    } while (off < o.data.length);
  }
  out[at] = OPT.END;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Typed accessors. Each returns null when the option is absent; a present but malformed option throws DHCP_MALFORMED
// naming it, except where noted.

export function getOption(p: DhcpPacket, code: number): Buffer | null {
  for (const o of p.options) if (o.code === code) return o.data;
  return null;
}

/** Replaces (or appends) an option; returns the packet for chaining. */
export function setOption(p: DhcpPacket, code: number, data: Buffer): DhcpPacket {
  const existing = p.options.find((o) => o.code === code);
  if (existing) existing.data = data;
  else p.options.push({ code, data });
  return p;
}

function fixedLen(p: DhcpPacket, code: number, len: number, name: string): Buffer | null {
  const v = getOption(p, code);
  if (v === null) return null;
  if (v.length !== len) throw malformed(`option ${code} (${name})`, { len: v.length });
  return v;
}

/** Option 53. */
export function messageType(p: DhcpPacket): number | null {
  const v = fixedLen(p, OPT.MESSAGE_TYPE, 1, 'message type');
  return v === null ? null : v[0]!;
}

/** The chaddr as lower-case colon form (first hlen bytes). */
export function macOf(p: DhcpPacket): string {
  const n = Math.min(p.hlen, p.chaddr.length);
  let s = '';
  for (let i = 0; i < n; i++) s += i === 0 ? HEX[p.chaddr[i]!]! : `:${HEX[p.chaddr[i]!]!}`;
  return s;
}

function ipOption(p: DhcpPacket, code: number, name: string): string | null {
  const v = fixedLen(p, code, 4, name);
  return v === null ? null : bytesToIp(v);
}

export const requestedIp = (p: DhcpPacket): string | null => ipOption(p, OPT.REQUESTED_IP, 'requested IP');
export const serverId = (p: DhcpPacket): string | null => ipOption(p, OPT.SERVER_ID, 'server identifier');

/** Option 55 as a list of codes. */
export function paramRequestList(p: DhcpPacket): number[] {
  const v = getOption(p, OPT.PARAM_REQUEST);
  return v === null ? [] : [...v];
}

/** Option 57. */
export function maxMessageSize(p: DhcpPacket): number | null {
  const v = fixedLen(p, OPT.MAX_SIZE, 2, 'max message size');
  return v === null ? null : v.readUInt16BE(0);
}

/** Option 60 as a latin1 string. */
export function vendorClass(p: DhcpPacket): string | null {
  const v = getOption(p, OPT.VENDOR_CLASS);
  return v === null ? null : v.toString('latin1');
}

/** Option 12. */
export function hostname(p: DhcpPacket): string | null {
  const v = getOption(p, OPT.HOSTNAME);
  return v === null ? null : v.toString('latin1').replace(/\0+$/, '');
}

/** Option 93 (RFC 4578 §2.1): a list of uint16; an odd length is malformed. */
export function clientArchs(p: DhcpPacket): number[] | null {
  const v = getOption(p, OPT.CLIENT_ARCH);
  if (v === null) return null;
  if (v.length === 0 || v.length % 2 !== 0) throw malformed('option 93 (client architecture)', { len: v.length });
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 2) out.push(v.readUInt16BE(i));
  return out;
}

/** Option 94 (RFC 4578 §2.2): type 1 = UNDI, then major and minor. */
export function clientNdi(p: DhcpPacket): { type: number; major: number; minor: number } | null {
  const v = fixedLen(p, OPT.CLIENT_NDI, 3, 'client network interface identifier');
  return v === null ? null : { type: v[0]!, major: v[1]!, minor: v[2]! };
}

/**
 * Option 97 (RFC 4578 §2.3) as a lower-case RFC 4122 string, or null when absent, not 17 bytes, not type 0, or all
 * zero. Lenient on purpose: ROMs in the wild send junk here (docs/protocol.md §2.1 item 5). The GUID's first three fields
 * are little-endian (SMBIOS byte order), as dmidecode prints them.
 */
export function clientUuid(p: DhcpPacket): string | null {
  const v = getOption(p, OPT.CLIENT_UUID);
  if (v === null || v.length !== 17 || v[0] !== 0) return null;
  let zero = true;
  for (let i = 1; i < 17 && zero; i++) zero = v[i] === 0;
  if (zero) return null;
  const h = (i: number): string => HEX[v[1 + i]!]!;
  return `${h(3)}${h(2)}${h(1)}${h(0)}-${h(5)}${h(4)}-${h(7)}${h(6)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}

/**
 * Option 77. RFC 3004 is a list of (len, bytes); iPXE sends a plain string ("iPXE"). As dnsmasq rfc2131.c: when the
 * length bytes walk exactly to the end, it is an RFC 3004 list, otherwise one plain string (docs/protocol.md §4.2, Q11).
 */
export function userClasses(p: DhcpPacket): string[] {
  const v = getOption(p, OPT.USER_CLASS);
  if (v === null || v.length === 0) return [];
  const list: string[] = [];
  let i = 0;
  while (i < v.length) {
    const len = v[i]!;
    if (len === 0 || i + 1 + len > v.length) break;
    list.push(v.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  if (i === v.length) return list;
  return [v.toString('latin1')];
}

/** Encodes option 77 the RFC 3004 way. */
export function encodeUserClasses(classes: readonly string[]): Buffer {
  return Buffer.concat(classes.map((c) => {
    const b = Buffer.from(c, 'latin1');
    if (b.length === 0 || b.length > 255) throw malformed('user class (length)', { len: b.length });
    return Buffer.concat([Buffer.from([b.length]), b]);
  }));
}

export interface SubOption {
  code: number;
  data: Buffer;
}

/** Encapsulated sub-options (43, 175, 82): TLVs with pad 0 and end 255 (PXE 2.1 Table 2-1; RFC 3046). */
export function decodeSubOptions(data: Buffer, what: string): SubOption[] {
  const out: SubOption[] = [];
  let i = 0;
  while (i < data.length) {
    const code = data[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255) break;
    if (i + 1 >= data.length) throw malformed(`${what} sub-option ${code} length`);
    const len = data[i + 1]!;
    if (i + 2 + len > data.length) throw malformed(`${what} sub-option ${code} value`, { len });
    out.push({ code, data: Buffer.from(data.subarray(i + 2, i + 2 + len)) });
    i += 2 + len;
  }
  return out;
}

/** Encodes sub-options; `end` adds the 255 terminator (PXE option 43 carries it; 175 and 82 do not). */
export function encodeSubOptions(subs: readonly SubOption[], end: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const s of subs) {
    if (s.data.length > 255) throw malformed(`sub-option ${s.code} (too long)`, { len: s.data.length });
    parts.push(Buffer.from([s.code, s.data.length]), s.data);
  }
  if (end) parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}

/** PXE 2.1 option 43 sub-option codes (docs/protocol.md §2.4). */
export const PXE_SUB = {
  DISCOVERY_CONTROL: 6,
  MCAST_ADDR: 7,
  BOOT_SERVERS: 8,
  BOOT_MENU: 9,
  MENU_PROMPT: 10,
  BOOT_ITEM: 71,
} as const;

/** 43 = {6: 8}: "boot file present in this offer: download it, no prompt, menu or discovery" (bit 3). */
export const PXE_DIRECT_BOOT = encodeSubOptions([{ code: PXE_SUB.DISCOVERY_CONTROL, data: Buffer.from([8]) }], true);

export function pxeVendorOptions(p: DhcpPacket): SubOption[] | null {
  const v = getOption(p, OPT.VENDOR);
  return v === null ? null : decodeSubOptions(v, 'option 43');
}

/** Option 175 (iPXE encapsulated): feature flags such as 0x13 HTTP, 0x24 EFI; 0xb0 no-pxedhcp. */
export function ipxeOptions(p: DhcpPacket): SubOption[] | null {
  const v = getOption(p, OPT.IPXE);
  return v === null ? null : decodeSubOptions(v, 'option 175');
}

/** 175 = {0xb0: 1}: iPXE no-pxedhcp, skips the 2 s ProxyDHCP wait in full-DHCP mode (docs/protocol.md §7). */
export const IPXE_NO_PXEDHCP = encodeSubOptions([{ code: 0xb0, data: Buffer.from([1]) }], false);

/** Option 82 (RFC 3046) raw, for echoing at the end of a reply. */
export function relayAgentInfo(p: DhcpPacket): Buffer | null {
  return getOption(p, OPT.RELAY_AGENT);
}
