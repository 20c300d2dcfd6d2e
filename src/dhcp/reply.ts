// Reply builders: pure functions from (request, classification, policy answer) to the reply packet, exactly per
// docs/protocol.md §2.2-2.4 (proxy OFFER on :67), §3.2 (ACK on :4011) and §7 (full DHCP mode).

import type { BootClient } from '../model/client.js';
import type { DhcpBootAnswer } from './ports.js';
import {
  BOOTREPLY,
  encode,
  encodeSubOptions,
  FLAG_BROADCAST,
  getOption,
  IPXE_NO_PXEDHCP,
  ipToBytes,
  LEN_CHADDR,
  MSG,
  OFF_CHADDR,
  OFF_HLEN,
  OFF_HTYPE,
  OFF_OPTIONS,
  OFF_XID,
  OPT,
  PXE_DIRECT_BOOT,
  PXE_SUB,
  pxeVendorOptions,
  type DhcpOption,
  type DhcpPacket,
} from './codec.js';

// Replies share option buffers with the request and with constants: they are encoded, never mutated.

const MESSAGE_TYPE_BYTES: Record<number, Buffer> = Object.fromEntries(Object.values(MSG).map((t) => [t, Buffer.from([t])]));

function hasByte(b: Buffer | null, v: number): boolean {
  if (b === null) return false;
  for (let i = 0; i < b.length; i++) if (b[i] === v) return true;
  return false;
}

/** `file` holds 127 characters plus the NUL (RFC 2131 §2: 128 bytes). */
const FILE_MAX = 127;

export interface BootReplyParts {
  client: BootClient;
  /** The configured option-60 prefix the request matched; echoed as our option 60 (dnsmasq pxe_misc). */
  vendorPrefix: string;
  answer: DhcpBootAnswer;
}

/** Whether the :67 offer carries 43 = {6: 8}: BIOS always, UEFI PXE only with the 'direct' strategy, HTTP never. */
export function sendsPxeDirect(client: BootClient, answer: DhcpBootAnswer): boolean {
  if (client.isHttpClient || client.firmware.endsWith('-http')) return false;
  if (client.firmware === 'bios') return true;
  return answer.strategy === 'direct';
}

/** The strategy that was actually applied, for timeline events and logs. */
export function appliedStrategy(client: BootClient, answer: DhcpBootAnswer): 'direct' | 'binl' | 'http' {
  if (client.isHttpClient || client.firmware.endsWith('-http')) return 'http';
  return sendsPxeDirect(client, answer) ? 'direct' : 'binl';
}

function base(req: DhcpPacket): DhcpPacket {
  return {
    op: BOOTREPLY,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: '',
    file: '',
    options: [],
  };
}

/**
 * Adds siaddr/sname/file and options 60, 97, 43, (175), 67 to `reply`. `file` stays empty when the boot file is longer
 * than 127 bytes; option 67 then carries it regardless of option 55.
 */
function addBoot(reply: DhcpPacket, req: DhcpPacket, parts: BootReplyParts, fullMode: boolean, allow43 = true): void {
  const { client, vendorPrefix, answer } = parts;
  reply.siaddr = answer.nextServer;
  reply.sname = answer.nextServer;
  const fits = answer.bootFile.length <= FILE_MAX; // latin1: one byte per character
  if (fits) reply.file = answer.bootFile;
  reply.options.push({ code: OPT.VENDOR_CLASS, data: Buffer.from(vendorPrefix, 'latin1') });
  const uuid = getOption(req, OPT.CLIENT_UUID);
  if (uuid !== null && uuid.length === 17) reply.options.push({ code: OPT.CLIENT_UUID, data: uuid });
  // Shared constant buffers: replies are encoded, never mutated.
  if (allow43 && sendsPxeDirect(client, answer)) reply.options.push({ code: OPT.VENDOR, data: PXE_DIRECT_BOOT });
  if (fullMode && client.isIpxe) reply.options.push({ code: OPT.IPXE, data: IPXE_NO_PXEDHCP });
  // Option 67 NUL-terminated (docs/protocol.md Q19), only when requested (§2.3) or when `file` cannot hold it.
  if (!fits || hasByte(getOption(req, OPT.PARAM_REQUEST), OPT.BOOTFILE)) {
    reply.options.push({ code: OPT.BOOTFILE, data: Buffer.from(`${answer.bootFile}\0`, 'latin1') });
  }
}

function echoRelayInfo(reply: DhcpPacket, req: DhcpPacket): void {
  // RFC 3046 §2.2: echo 82 verbatim, last (dnsmasq moves agent_id to the end).
  const ri = getOption(req, OPT.RELAY_AGENT);
  if (ri !== null) reply.options.push({ code: OPT.RELAY_AGENT, data: ri });
}

/** Proxy OFFER for a :67 DISCOVER (docs/protocol.md §2.2/2.3; example §9.3). */
export function buildProxyOffer(req: DhcpPacket, parts: BootReplyParts, serverAddress: string): DhcpPacket {
  const reply = base(req);
  reply.flags = FLAG_BROADCAST; // forced, whatever the client sent (dnsmasq, pixiecore)
  reply.options.push({ code: OPT.MESSAGE_TYPE, data: MESSAGE_TYPE_BYTES[MSG.OFFER]! });
  reply.options.push({ code: OPT.SERVER_ID, data: ipToBytes(serverAddress, 'server address') });
  addBoot(reply, req, parts, false);
  echoRelayInfo(reply, req);
  return reply;
}

interface OfferTemplate {
  serverAddress: string;
  vendorPrefix: string;
  bootFile: string;
  nextServer: string;
  direct: boolean;
  withUuid: boolean;
  asks67: boolean;
  wire: Buffer;
  /** Offset of the echoed option-97 value in `wire` (-1 without). */
  uuidAt: number;
}

/**
 * encode(buildProxyOffer(req, parts, serverAddress)) without building the packet each time: a proxy OFFER's bytes
 * depend on the request only through xid, htype, hlen, chaddr, the echoed 97, whether 55 asks for 67, and giaddr/82.
 * The first OFFER of each shape (answer, prefix, 43, 97 present, 67 asked) is built and encoded the normal way and
 * kept; later ones copy it and patch the per-request bytes. Relayed requests (giaddr, 82) are built the normal way.
 */
export class ProxyOfferEncoder {
  private readonly templates: OfferTemplate[] = [];

  constructor(private readonly limit = 16) {}

  encode(req: DhcpPacket, parts: BootReplyParts, serverAddress: string): Buffer {
    if (req.giaddr !== '0.0.0.0' || getOption(req, OPT.RELAY_AGENT) !== null) return encode(buildProxyOffer(req, parts, serverAddress));
    const { answer, vendorPrefix } = parts;
    const uuid = getOption(req, OPT.CLIENT_UUID);
    const withUuid = uuid !== null && uuid.length === 17;
    const asks67 = hasByte(getOption(req, OPT.PARAM_REQUEST), OPT.BOOTFILE);
    const direct = sendsPxeDirect(parts.client, answer);
    let t: OfferTemplate | undefined;
    for (const c of this.templates) {
      if (c.bootFile === answer.bootFile && c.nextServer === answer.nextServer && c.vendorPrefix === vendorPrefix && c.serverAddress === serverAddress &&
          c.direct === direct && c.withUuid === withUuid && c.asks67 === asks67) {
        t = c;
        break;
      }
    }
    if (t === undefined) {
      const wire = encode(buildProxyOffer(req, parts, serverAddress));
      let uuidAt = -1;
      for (let at = OFF_OPTIONS; wire[at] !== OPT.END; at += 2 + wire[at + 1]!) if (wire[at] === OPT.CLIENT_UUID) uuidAt = at + 2;
      if (this.templates.length >= this.limit) this.templates.shift();
      this.templates.push({ serverAddress, vendorPrefix, bootFile: answer.bootFile, nextServer: answer.nextServer, direct, withUuid, asks67, wire: Buffer.from(wire), uuidAt });
      return wire;
    }
    const out = Buffer.allocUnsafe(t.wire.length);
    out.set(t.wire);
    out[OFF_HTYPE] = req.htype;
    out[OFF_HLEN] = req.hlen;
    out.writeUInt32BE(req.xid >>> 0, OFF_XID);
    const n = Math.min(LEN_CHADDR, req.chaddr.length);
    for (let i = 0; i < LEN_CHADDR; i++) out[OFF_CHADDR + i] = i < n ? req.chaddr[i]! : 0;
    if (withUuid && uuid !== null) for (let i = 0; i < 17; i++) out[t.uuidAt + i] = uuid[i]!;
    return out;
  }
}

/** ACK for a boot-server REQUEST/INFORM on :4011 (docs/protocol.md §3.2): ciaddr and flags echoed, yiaddr 0, no 43. */
export function buildBootServerAck(req: DhcpPacket, parts: BootReplyParts, serverAddress: string): DhcpPacket {
  const reply = base(req);
  reply.ciaddr = req.ciaddr;
  reply.options.push({ code: OPT.MESSAGE_TYPE, data: MESSAGE_TYPE_BYTES[MSG.ACK]! });
  reply.options.push({ code: OPT.SERVER_ID, data: ipToBytes(serverAddress, 'server address') });
  addBoot(reply, req, parts, false, false); // 43 is optional on 4011 and omitted...
  // ...except for a Boot Server Discovery REQUEST: iPXE drops an ACK whose 43.71 item differs (docs/protocol.md §3.3).
  const item = pxeVendorOptions(req)?.find((s) => s.code === PXE_SUB.BOOT_ITEM);
  if (item !== undefined) reply.options.push({ code: OPT.VENDOR, data: encodeSubOptions([item], true) });
  echoRelayInfo(reply, req);
  return reply;
}

export interface NetworkOptions {
  subnetMask: string;
  router?: string | undefined;
  dns?: readonly string[] | undefined;
  domain?: string | undefined;
}

export interface LeaseReplyInput {
  type: typeof MSG.OFFER | typeof MSG.ACK | typeof MSG.NAK;
  /** The address handed out (OFFER/ACK), '0.0.0.0' for a NAK or an INFORM ACK. */
  yiaddr: string;
  serverAddress: string;
  /** Seconds; omitted for NAK and INFORM. */
  leaseSeconds?: number;
  network?: NetworkOptions;
  hostname?: string | null;
  /** PXE boot options when the client is a PXE client the policy boots; the same as proxy mode (§7). */
  boot?: BootReplyParts | null;
  message?: string;
  /** An INFORM ACK echoes ciaddr. */
  echoCiaddr?: boolean;
}

/** OFFER / ACK / NAK of the full DHCP server (RFC 2131 §4.3, Table 3; boot info in both OFFER and ACK, §7). */
export function buildLeaseReply(req: DhcpPacket, input: LeaseReplyInput): DhcpPacket {
  const reply = base(req);
  reply.yiaddr = input.yiaddr;
  if (input.echoCiaddr) reply.ciaddr = req.ciaddr;
  const opts: DhcpOption[] = reply.options;
  opts.push({ code: OPT.MESSAGE_TYPE, data: MESSAGE_TYPE_BYTES[input.type]! });
  opts.push({ code: OPT.SERVER_ID, data: ipToBytes(input.serverAddress, 'server address') });
  if (input.type === MSG.NAK) {
    if (input.message) opts.push({ code: OPT.MESSAGE, data: Buffer.from(input.message, 'latin1') });
    echoRelayInfo(reply, req);
    return reply;
  }
  if (input.leaseSeconds !== undefined) {
    const u32 = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(Math.max(0, Math.floor(n)) >>> 0);
      return b;
    };
    opts.push({ code: OPT.LEASE_TIME, data: u32(input.leaseSeconds) });
    opts.push({ code: OPT.RENEWAL_T1, data: u32(input.leaseSeconds / 2) });
    opts.push({ code: OPT.REBINDING_T2, data: u32((input.leaseSeconds * 7) / 8) });
  }
  const net = input.network;
  if (net) {
    opts.push({ code: OPT.SUBNET_MASK, data: ipToBytes(net.subnetMask, 'subnet mask') });
    if (net.router) opts.push({ code: OPT.ROUTER, data: ipToBytes(net.router, 'router') });
    if (net.dns && net.dns.length > 0) {
      opts.push({ code: OPT.DNS, data: Buffer.concat(net.dns.map((d) => ipToBytes(d, 'dns server'))) });
    }
    if (net.domain) opts.push({ code: OPT.DOMAIN, data: Buffer.from(net.domain, 'latin1') });
  }
  if (input.hostname) opts.push({ code: OPT.HOSTNAME, data: Buffer.from(input.hostname, 'latin1') });
  if (input.boot) addBoot(reply, req, input.boot, true);
  echoRelayInfo(reply, req);
  return reply;
}
