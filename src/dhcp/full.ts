// Full DHCP mode (isolated labs; docs/protocol.md §7, RFC 2131 §4.3): `(packet, ctx) -> reply | null` like the
// proxy responders, plus the lease bookkeeping in ctx.full. PXE clients get the same boot options as in proxy mode.

import type { DhcpContext, FullContext, Peer } from './context.js';
import { macOf, MSG, MSG_NAMES, requestedIp, serverId, type DhcpPacket } from './codec.js';
import type { DhcpReply } from './respond.js';
import { bootParts, deliverTo, ZERO } from './respond.js';
import { buildLeaseReply } from './reply.js';

export function respondFull(p: DhcpPacket, type: number, ctx: DhcpContext, rinfo: { address: string; port: number }): DhcpReply | null {
  const f = ctx.full!;
  const from = rinfo;
  const mac = macOf(p);
  const now = ctx.now();
  switch (type) {
    case MSG.DISCOVER: {
      const ip = f.pool.allocate(mac, requestedIp(p), now);
      if (ip === null) {
        ctx.warn('pool', 'address pool exhausted', { mac });
        return null;
      }
      const hostname = f.pool.reservationFor(mac)?.hostname ?? null;
      const boot = bootParts(p, 'dhcp-offer', ctx, from, true);
      f.pool.record(ip, mac, 'offered', f.offerHoldSeconds, hostname, now);
      const reply = buildLeaseReply(p, { type: MSG.OFFER, yiaddr: ip, serverAddress: ctx.address, leaseSeconds: f.leaseSeconds, network: f.network, hostname, boot });
      const [to, port] = deliverTo(reply, p, false, ctx);
      return { packet: reply, socket: 'tx', to, port, count: 'offers', kind: 'offer', parts: boot, extra: { ip } };
    }
    case MSG.REQUEST:
      return request(p, mac, f, ctx, from, now);
    case MSG.RELEASE: {
      const lease = f.leases.leaseGet(p.ciaddr);
      if (lease && lease.mac === mac) f.pool.record(lease.ip, mac, 'released', 0, lease.hostname, now);
      ctx.log.info('dhcp release', { mac, xid: p.xid, ip: p.ciaddr });
      return null;
    }
    case MSG.DECLINE: {
      const ip = requestedIp(p);
      const lease = ip === null ? null : f.leases.leaseGet(ip);
      if (lease && lease.mac === mac) f.pool.record(lease.ip, mac, 'declined', f.declineHoldSeconds, null, now);
      ctx.log.warn('dhcp decline', { mac, xid: p.xid, ip });
      return null;
    }
    case MSG.INFORM: {
      const boot = bootParts(p, 'dhcp-ack', ctx, from, true);
      const reply = buildLeaseReply(p, { type: MSG.ACK, yiaddr: ZERO, serverAddress: ctx.address, network: f.network, boot, echoCiaddr: true });
      return { packet: reply, socket: 'tx', to: p.ciaddr !== ZERO ? p.ciaddr : rinfo.address, port: rinfo.port, count: 'acks', kind: 'inform ack', parts: boot };
    }
    default:
      ctx.ignore(`${MSG_NAMES[type] ?? type} in full mode`, p, from);
      return null;
  }
}

function request(p: DhcpPacket, mac: string, f: FullContext, ctx: DhcpContext, from: Peer, now: number): DhcpReply | null {
  const sid = serverId(p);
  if (sid !== null && sid !== ctx.address) {
    // The client chose another server: drop our pending offer.
    const mine = f.leases.leaseForMac(mac);
    if (mine && mine.state === 'offered') f.leases.leaseDelete(mine.ip);
    ctx.ignore('REQUEST for another server', p, from);
    return null;
  }
  const ip = requestedIp(p) ?? (p.ciaddr !== ZERO ? p.ciaddr : null);
  if (ip === null) {
    ctx.ignore('REQUEST without an address', p, from);
    return null;
  }
  if (!f.pool.canLease(mac, ip, now)) {
    const reply = buildLeaseReply(p, { type: MSG.NAK, yiaddr: ZERO, serverAddress: ctx.address, message: 'address not available' });
    const [to, port] = deliverTo(reply, p, true, ctx);
    return { packet: reply, socket: 'tx', to, port, count: 'naks', kind: 'nak', parts: null, extra: { ip } };
  }
  const hostname = f.pool.reservationFor(mac)?.hostname ?? null;
  const boot = bootParts(p, 'dhcp-ack', ctx, from, true);
  f.pool.record(ip, mac, 'bound', f.leaseSeconds, hostname, now);
  ctx.policy.dhcpObserved({ mac, ip, source: 'lease' });
  const reply = buildLeaseReply(p, { type: MSG.ACK, yiaddr: ip, serverAddress: ctx.address, leaseSeconds: f.leaseSeconds, network: f.network, hostname, boot });
  const [to, port] = deliverTo(reply, p, false, ctx);
  return { packet: reply, socket: 'tx', to, port, count: 'acks', kind: 'ack', parts: boot, extra: { ip } };
}
