// The proxy responders: pure-ish functions `(packet, ctx) -> reply | null` (null = stay silent). They ask the boot
// policy (synchronously) and report address observations; the socket loop in server.ts sends what they return.
// Delivery follows RFC 2131 §4.1: a relayed request is answered to giaddr:67 (the relay forwards it), a client with
// an address at ciaddr:68, everyone else by broadcast to :68.

import { describeError } from '../errors.js';
import type { DhcpContext, Peer } from './context.js';
import { FLAG_BROADCAST, macOf, MSG, MSG_NAMES, PXE_SUB, pxeVendorOptions, requestedIp, serverId, type DhcpPacket } from './codec.js';
import { classifyClient, HTTP_CLIENT_PREFIX, matchVendorPrefix } from './classify.js';
import type { DhcpStage } from './ports.js';
import { appliedStrategy, buildBootServerAck, type BootReplyParts } from './reply.js';

export const ZERO = '0.0.0.0';
export const BROADCAST = '255.255.255.255';

/** A reply for the socket loop: what to send, from which socket, where, and what to count and log. */
export interface DhcpReply {
  packet: DhcpPacket | Buffer;
  /** 'tx': the :67 socket bound to our address; 'boot': the :4011 socket. */
  socket: 'tx' | 'boot';
  to: string;
  port: number;
  count: 'offers' | 'acks' | 'naks';
  /** Log message ("dhcp <kind>") and the fields that go with it. */
  kind: string;
  parts: BootReplyParts | null;
  extra?: Record<string, unknown>;
}

/** The request's source as logs show it. */
export const fromOf = (rinfo: { address: string; port: number }): string => `${rinfo.address}:${rinfo.port}`;

/** Classifies a PXE/HTTP client and asks the policy; null = stay silent (not ours, unsupported, or the policy says so). */
export function bootParts(p: DhcpPacket, stage: DhcpStage, ctx: DhcpContext, from: Peer, httpAllowed: boolean): BootReplyParts | null {
  const vendorPrefix = matchVendorPrefix(p, ctx.vendorPrefixes);
  if (vendorPrefix === null) return null;
  if (!httpAllowed && vendorPrefix === HTTP_CLIENT_PREFIX) return null;
  const client = classifyClient(p, { ourUserClass: ctx.ourUserClass });
  if (client.firmware === 'unsupported') {
    ctx.ignore(`unsupported architecture ${client.arch}`, p, from);
    return null;
  }
  try {
    const answer = ctx.policy.dhcpBoot({
      client,
      stage,
      xid: p.xid,
      serverAddress: ctx.address,
      relayAddress: p.giaddr !== ZERO ? p.giaddr : null,
      clientAddress: p.ciaddr !== ZERO ? p.ciaddr : null,
    });
    return answer === null ? null : { client, vendorPrefix, answer };
  } catch (err) {
    ctx.counters.policyErrors++;
    ctx.warn('policy', 'boot policy failed; staying silent', { mac: client.mac, xid: p.xid, err: describeError(err) });
    return null;
  }
}

/**
 * Where a :67 reply goes (RFC 2131 §4.1): relayed -> giaddr:67; NAK -> broadcast; a client with an address ->
 * ciaddr:68; else broadcast. Copies the client's broadcast flag when broadcasting or relaying.
 */
export function deliverTo(reply: DhcpPacket, req: DhcpPacket, isNak: boolean, ctx: DhcpContext): [string, number] {
  let to: [string, number];
  if (req.giaddr !== ZERO) to = [req.giaddr, ctx.serverPort];
  else if (!isNak && req.ciaddr !== ZERO) to = [req.ciaddr, ctx.clientPort];
  else to = [BROADCAST, ctx.clientPort];
  if (to[0] === BROADCAST || req.giaddr !== ZERO) reply.flags |= req.flags & FLAG_BROADCAST;
  return to;
}

/** Proxy mode on :67 (docs/protocol.md §2): DISCOVER -> proxy OFFER; REQUEST to us -> ACK; anything else silent. */
export function respondProxy(p: DhcpPacket, type: number, ctx: DhcpContext, from: Peer): DhcpReply | null {
  if (type === MSG.REQUEST) {
    if (serverId(p) === ctx.address) {
      // Boot information for a client that already has its address (ciaddr) or asks for a boot item (43.71).
      // A client trying to lease our yiaddr-0 offer gets silence: a proxy never looks like an address server.
      const bootItem = pxeVendorOptions(p)?.some((o) => o.code === PXE_SUB.BOOT_ITEM) ?? false;
      if (p.ciaddr !== ZERO || bootItem) return respondProxyRequest(p, ctx, from);
      ctx.ignore('REQUEST to lease a proxy offer (proxy mode never leases)', p, from);
      return null;
    }
    // A REQUEST to the LAN's DHCP server is never answered (docs/protocol.md §2.5). Its option 50 names the address
    // this MAC is about to use, worth a hint only when it continues an exchange we answered (same MAC and xid).
    const ip = requestedIp(p);
    if (ip !== null && ctx.answered.has(macOf(p), p.xid, ctx.now())) {
      ctx.policy.dhcpObserved({ mac: macOf(p), ip, source: 'request-opt50' });
    }
    ctx.ignore('REQUEST on :67 for another server', p, from);
    return null;
  }
  if (type !== MSG.DISCOVER) {
    ctx.ignore(`${MSG_NAMES[type] ?? type} on :67`, p, from);
    return null;
  }
  const parts = bootParts(p, 'proxy-offer', ctx, from, true);
  if (!parts) {
    ctx.ignore('not a PXE client, or the policy says no', p, from);
    return null;
  }
  ctx.answered.add(parts.client.mac, p.xid, ctx.now());
  const relayed = p.giaddr !== ZERO;
  return {
    packet: ctx.offerEncoder.encode(p, parts, ctx.address),
    socket: 'tx',
    to: relayed ? p.giaddr : BROADCAST,
    port: relayed ? ctx.serverPort : ctx.clientPort,
    count: 'offers',
    kind: 'proxy offer',
    parts,
  };
}

/**
 * A :67 REQUEST whose option 54 is ours, from a client that has its address (ciaddr) or asks for a boot item:
 * some PXE ROMs ask the proxy for boot information this way, and Boot Server Discovery (43.71) may be broadcast
 * to :67. Answered like :4011 (ACK, yiaddr 0, boot file), always with the broadcast flag.
 */
function respondProxyRequest(p: DhcpPacket, ctx: DhcpContext, from: Peer): DhcpReply | null {
  const parts = bootParts(p, 'proxy-ack', ctx, from, true);
  if (!parts) {
    ctx.ignore('REQUEST to us from a client the policy does not boot', p, from);
    return null;
  }
  if (p.ciaddr !== ZERO) ctx.policy.dhcpObserved({ mac: macOf(p), ip: p.ciaddr, source: 'ciaddr' });
  ctx.answered.add(parts.client.mac, p.xid, ctx.now());
  const reply = buildBootServerAck(p, parts, ctx.address);
  reply.flags |= FLAG_BROADCAST;
  const [to, port] = p.giaddr !== ZERO ? [p.giaddr, ctx.serverPort] : p.ciaddr !== ZERO ? [p.ciaddr, ctx.clientPort] : [BROADCAST, ctx.clientPort];
  return { packet: reply, socket: 'tx', to, port, count: 'acks', kind: 'proxy ack', parts };
}

/**
 * The PXE boot server on :4011 (docs/protocol.md §3): REQUEST/INFORM -> ACK with the boot file, unicast to the
 * source address and port (EDK2 listens on 4011, iPXE on 68; never broadcast). UEFI HTTP boot never comes here.
 */
export function respondBootServer(p: DhcpPacket, type: number, ctx: DhcpContext, rinfo: { address: string; port: number }): DhcpReply | null {
  const from = rinfo;
  if (type !== MSG.REQUEST && type !== MSG.INFORM) {
    ctx.ignore(`${MSG_NAMES[type] ?? type} on :4011`, p, from);
    return null;
  }
  const parts = bootParts(p, 'proxy-ack-4011', ctx, from, false);
  if (!parts) {
    ctx.ignore('not a PXE client, or the policy says no', p, from);
    return null;
  }
  if (p.ciaddr !== ZERO) ctx.policy.dhcpObserved({ mac: macOf(p), ip: p.ciaddr, source: 'ciaddr' });
  return { packet: buildBootServerAck(p, parts, ctx.address), socket: 'boot', to: rinfo.address, port: rinfo.port, count: 'acks', kind: 'boot server ack', parts };
}

/** Log fields of a reply (strategy and boot file when it carries boot options). */
export function replyFields(p: DhcpPacket, r: DhcpReply): Record<string, unknown> {
  const parts = r.parts;
  return {
    mac: macOf(p),
    xid: p.xid,
    client: `${r.to}:${r.port}`,
    ...(parts ? { arch: parts.client.arch, firmware: parts.client.firmware, strategy: appliedStrategy(parts.client, parts.answer), bootFile: parts.answer.bootFile } : {}),
    ...(r.extra ?? {}),
  };
}
