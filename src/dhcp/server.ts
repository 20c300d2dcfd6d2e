// The DHCP service: proxy-DHCP on :67, the PXE boot server on :4011, and an optional full DHCP server (isolated labs).
//
// Serving one provisioning interface with Node's dgram (no IP_PKTINFO, no SO_BINDTODEVICE), verified on Linux 6.x
// with two interfaces in one namespace (test/dhcp/iface.test.ts):
// - `rx`   bound to 0.0.0.0:67 (reuseAddr): the only way to receive broadcast DISCOVERs (a socket bound to a unicast
//          address never sees 255.255.255.255). It receives them from every interface of the namespace/host.
// - `tx`   bound to <interface address>:67 (reuseAddr, broadcast): sends every :67 reply, and receives unicast
//          requests to that address (relay agents). Linux routes a limited broadcast (255.255.255.255) sent from a
//          socket bound to a local address out of the interface that owns that address (net/ipv4/route.c,
//          ip_route_output_key_hash_rcu: saddr set + lbcast daddr -> dev_out = __ip_dev_find(saddr)), so replies leave
//          only through the provisioning interface and carry its address as source, 54 and siaddr.
// - `boot` bound to <interface address>:4011: boot-server REQUESTs arrive unicast there; ACKs go back from :4011.
// What does not work: the daemon cannot tell on which interface a broadcast DISCOVER arrived, so a PXE client on
// another interface of the same host makes the policy run and an OFFER leave through the provisioning interface,
// where that client never sees it. Run pxed on a host (or namespace/container) whose other interfaces carry no PXE
// clients, or accept that the policy sees those DISCOVERs too.

import dgram from 'node:dgram';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { BootClient, DhcpBootAnswer, DhcpBootPolicy, DhcpBootQuery, DhcpStage } from '../boot/types.js';
import { describeError, isPxedError, PxedError } from '../errors.js';
import { rateLimited, type Logger } from '../log.js';
import type { DhcpMetricsPort } from '../appliance/metrics.js';
import type { Service } from '../service.js';
import { LeasePool, type LeaseStore, type Reservation } from './leases.js';
import {
  BOOTREQUEST,
  decode,
  encode,
  FLAG_BROADCAST,
  macOf,
  messageType,
  MSG,
  MSG_NAMES,
  OPT,
  PXE_SUB,
  pxeVendorOptions,
  requestedIp,
  serverId,
  type DhcpPacket,
} from './codec.js';
import { classifyClient, DEFAULT_VENDOR_PREFIXES, HTTP_CLIENT_PREFIX, matchVendorPrefix } from './classify.js';
import { appliedStrategy, buildBootServerAck, buildLeaseReply, ProxyOfferEncoder, type BootReplyParts } from './reply.js';

export interface FullDhcpOptions {
  /** First and last address of the dynamic pool (inclusive), on the interface's subnet. */
  poolStart: string;
  poolEnd: string;
  /** Option 1; default: the interface's netmask. */
  subnetMask?: string;
  /** Option 3. */
  router?: string;
  /** Option 6. */
  dns?: string[];
  /** Option 15. */
  domain?: string;
  /** Option 51, seconds (default 3600). T1/T2 are 1/2 and 7/8 of it. */
  leaseSeconds?: number;
  /** How long an OFFERed address is held for its MAC (default 60 s). */
  offerHoldSeconds?: number;
  /** How long a DECLINEd address stays out of the pool (default 600 s). */
  declineHoldSeconds?: number;
  leases: LeaseStore;
  /** Reservations (MAC -> IP + hostname), read on every allocation; reserved IPs never go to other MACs. */
  reservations?: () => readonly Reservation[];
  /** Refuse to start if another DHCP server answers a probe DISCOVER (default true). */
  probe?: boolean;
  /** How long to wait for a competing OFFER (default 3500 ms: dnsmasq may ping-check for 3 s before offering). */
  probeTimeoutMs?: number;
}

export interface DhcpServiceOptions {
  /** The provisioning interface; the service derives its address from it (first IPv4 address). */
  interface?: string;
  /** Our address on the provisioning interface; required when `interface` is not given. */
  address?: string;
  /** Server port, default 67. */
  port?: number;
  /** Client port replies are broadcast to, default 68. */
  clientPort?: number;
  /** PXE boot server port, default 4011; null disables it. */
  bootServerPort?: number | null;
  /** 'proxy' (default) answers only PXE/HTTP boot clients and never hands out addresses; 'full' is a DHCP server. */
  mode?: 'proxy' | 'full';
  /** Option-60 prefixes answered (default PXEClient, HTTPClient); the matched one is echoed. */
  vendorPrefixes?: readonly string[];
  /** User-class of our own iPXE build (default 'pxed'). */
  ourUserClass?: string;
  policy: DhcpBootPolicy;
  log: Logger;
  /** Required when mode is 'full'. */
  full?: FullDhcpOptions;
  /** SO_RCVBUF for the :67 and :4011 sockets, so a rack booting at once does not overflow them (default 1 MiB;
   *  the kernel caps it at net.core.rmem_max). */
  receiveBufferBytes?: number;
  /** Called once when a socket fails after start (the only fatal condition); the service has closed its sockets. */
  onFatal?: (err: Error) => void;
  metrics?: DhcpMetricsPort;
}

export interface DhcpStats {
  received: number;
  malformed: number;
  ignored: number;
  offers: number;
  acks: number;
  naks: number;
  policyErrors: number;
}

type Via = 'rx' | 'tx' | 'boot';
const ZERO = '0.0.0.0';
const BROADCAST = '255.255.255.255';

export type { LeaseStore, Reservation } from './leases.js';

/** Resolves the interface's first IPv4 address and netmask (os.networkInterfaces of this network namespace). */
export function interfaceAddress(name: string): { address: string; netmask: string } | null {
  const list = os.networkInterfaces()[name] ?? [];
  const v4 = list.find((a) => a.family === 'IPv4');
  return v4 ? { address: v4.address, netmask: v4.netmask } : null;
}

function bindUdp(address: string, port: number, broadcast: boolean): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const onError = (err: Error): void => {
      s.close();
      reject(new PxedError('DHCP_BIND', `cannot bind ${address}:${port}: ${err.message}`, { address, port }, { cause: err }));
    };
    s.once('error', onError);
    s.bind({ address, port, exclusive: true }, () => {
      s.off('error', onError);
      if (broadcast) s.setBroadcast(true);
      resolve(s);
    });
  });
}

function connectUdp(s: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new PxedError('DHCP_BIND', `cannot connect to ${address}:${port}: ${err.message}`, { address, port }, { cause: err }));
    s.once('error', onError);
    s.connect(port, address, () => {
      s.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(s: dgram.Socket | null): Promise<void> {
  return new Promise((resolve) => {
    if (!s) return resolve();
    try {
      s.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

export class DhcpService implements Service {
  readonly name = 'dhcp';
  private rx: dgram.Socket | null = null;
  private tx: dgram.Socket | null = null;
  private boot: dgram.Socket | null = null;
  /**
   * Bound like `tx` and connected to 255.255.255.255:<client port>: broadcast replies go out of it without a route
   * lookup per datagram. A connected socket receives nothing from other peers; relayed requests still reach `tx`.
   */
  private bcast: dgram.Socket | null = null;
  private addr = ZERO;
  private netmask = '255.255.255.0';
  private stopped = true;
  private leasePool: LeasePool | null = null;
  private readonly offerEncoder = new ProxyOfferEncoder();
  private readonly counters: DhcpStats = { received: 0, malformed: 0, ignored: 0, offers: 0, acks: 0, naks: 0, policyErrors: 0 };
  private readonly warn: (key: string, msg: string, fields?: Record<string, unknown>) => void;

  constructor(private readonly opts: DhcpServiceOptions) {
    this.warn = rateLimited(opts.log);
  }

  /** Our address on the provisioning interface (valid after start()). */
  get address(): string {
    return this.addr;
  }

  stats(): Readonly<DhcpStats> {
    return { ...this.counters };
  }

  async start(): Promise<void> {
    const o = this.opts;
    const mode = o.mode ?? 'proxy';
    if (mode === 'full' && !o.full) throw new PxedError('DHCP_CONFIG', "mode 'full' needs the full-DHCP options");
    if (o.interface) {
      const info = interfaceAddress(o.interface);
      if (!info) throw new PxedError('DHCP_NO_INTERFACE', `interface ${o.interface} has no IPv4 address`, { interface: o.interface });
      if (o.address && o.address !== info.address) {
        const all = (os.networkInterfaces()[o.interface] ?? []).map((a) => a.address);
        if (!all.includes(o.address)) {
          throw new PxedError('DHCP_NO_INTERFACE', `address ${o.address} is not on ${o.interface}`, { interface: o.interface });
        }
      }
      this.addr = o.address ?? info.address;
      this.netmask = info.netmask;
    } else if (o.address) {
      this.addr = o.address;
    } else {
      throw new PxedError('DHCP_CONFIG', 'either interface or address is required');
    }
    const port = o.port ?? 67;
    if (mode === 'full' && o.full!.probe !== false) await this.probeOtherServer();

    try {
      this.rx = await bindUdp(ZERO, port, false);
      this.tx = await bindUdp(this.addr, port, true);
      this.bcast = await bindUdp(this.addr, port, true);
      await connectUdp(this.bcast, BROADCAST, o.clientPort ?? 68);
      if (o.bootServerPort !== null) this.boot = await bindUdp(this.addr, o.bootServerPort ?? 4011, false);
    } catch (err) {
      await this.closeAll();
      throw err;
    }
    this.stopped = false;
    for (const sock of [this.rx, this.tx, this.boot]) {
      try {
        sock?.setRecvBufferSize(o.receiveBufferBytes ?? 1 << 20);
      } catch (err) {
        o.log.warn('dhcp receive buffer not enlarged', { err: describeError(err) });
      }
    }
    for (const [via, sock] of [['rx', this.rx], ['tx', this.tx], ['boot', this.boot]] as const) {
      if (!sock) continue;
      sock.on('message', (msg, rinfo) => this.onMessage(via, msg, rinfo));
      sock.on('error', (err) => this.fatal(via, err));
    }
    o.log.info('dhcp listening', { mode, address: this.addr, port, bootServerPort: this.boot ? (this.boot.address() as AddressInfo).port : null });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.closeAll();
  }

  private async closeAll(): Promise<void> {
    const socks = [this.rx, this.tx, this.boot, this.bcast];
    this.rx = this.tx = this.boot = this.bcast = null;
    await Promise.all(socks.map(closeSocket));
  }

  private fatal(via: Via, err: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    this.opts.log.error('dhcp socket failed', { socket: via, err: describeError(err) });
    void this.closeAll().then(() => this.opts.onFatal?.(err));
  }

  private onMessage(via: Via, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.stopped) return;
    this.counters.received++;
    // Nothing a packet contains may escape this loop: malformed -> warn (rate-limited), anything else -> error.
    // A proxy DISCOVER answered by a synchronous policy is handled without a promise.
    try {
      const pending = this.handle(via, msg, rinfo);
      if (pending) pending.catch((err: unknown) => this.handlerFailed(err, rinfo));
    } catch (err) {
      this.handlerFailed(err, rinfo);
    }
  }

  private handlerFailed(err: unknown, rinfo: dgram.RemoteInfo): void {
    if (isPxedError(err, 'DHCP_MALFORMED')) {
      this.counters.malformed++;
      this.opts.metrics?.packet('malformed', null, null);
      this.warn('malformed', 'malformed DHCP packet', { from: `${rinfo.address}:${rinfo.port}`, reading: err.details?.reading });
    } else {
      this.warn('handler', 'DHCP packet handling failed', { from: `${rinfo.address}:${rinfo.port}`, err: describeError(err) });
    }
  }

  private ignore(why: string, p: DhcpPacket | null, rinfo: dgram.RemoteInfo): void {
    this.counters.ignored++;
    this.opts.metrics?.packet('ignored', p ? messageType(p) : null, null);
    const log = this.opts.log;
    if (log.enabled('debug')) {
      log.debug('dhcp packet ignored', { why, mac: p ? macOf(p) : undefined, xid: p?.xid, client: `${rinfo.address}:${rinfo.port}` });
    }
  }

  /** Returns a promise only when the reply waits for an asynchronous policy answer. */
  private handle(via: Via, msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> | void {
    const p = decode(msg);
    if (p.op !== BOOTREQUEST || p.htype !== 1 || p.hlen !== 6) return this.ignore('not an Ethernet BOOTREQUEST', p, rinfo);
    const type = messageType(p);
    if (type === null) return this.ignore('no option 53 (BOOTP)', p, rinfo);
    if (via === 'boot') return this.handleBootServer(p, type, rinfo);
    if ((this.opts.mode ?? 'proxy') === 'full') return this.handleFull(p, type, rinfo);
    return this.handleProxy(p, type, rinfo);
  }

  /** Classifies a PXE/HTTP client and asks the policy; null = stay silent. Synchronous with a dhcpBootSync policy. */
  private bootParts(p: DhcpPacket, stage: DhcpStage, rinfo: dgram.RemoteInfo, httpAllowed: boolean): BootReplyParts | null | Promise<BootReplyParts | null> {
    const vendorPrefix = matchVendorPrefix(p, this.opts.vendorPrefixes ?? DEFAULT_VENDOR_PREFIXES);
    if (vendorPrefix === null) return null;
    if (!httpAllowed && vendorPrefix === HTTP_CLIENT_PREFIX) return null;
    const client: BootClient = classifyClient(p, { ourUserClass: this.opts.ourUserClass });
    if (client.firmware === 'unsupported') {
      this.ignore(`unsupported architecture ${client.arch}`, p, rinfo);
      return null;
    }
    const query: DhcpBootQuery = {
      client,
      stage,
      xid: p.xid,
      serverAddress: this.addr,
      relayAddress: p.giaddr !== ZERO ? p.giaddr : null,
      clientAddress: p.ciaddr !== ZERO ? p.ciaddr : null,
    };
    const parts = (answer: DhcpBootAnswer | null): BootReplyParts | null => (answer === null ? null : { client, vendorPrefix, answer });
    const failed = (err: unknown): null => {
      this.counters.policyErrors++;
      this.warn('policy', 'boot policy failed; staying silent', { mac: client.mac, xid: p.xid, err: describeError(err) });
      return null;
    };
    const policy = this.opts.policy;
    if (policy.dhcpBootSync) {
      try {
        return parts(policy.dhcpBootSync(query));
      } catch (err) {
        return failed(err);
      }
    }
    let pending: Promise<DhcpBootAnswer | null>;
    try {
      pending = policy.dhcpBoot(query);
    } catch (err) {
      return failed(err); // an async policy that throws before returning its promise
    }
    return pending.then(parts, failed);
  }

  private logReply(kind: string, p: DhcpPacket, parts: BootReplyParts | null, to: string, port: number, extra: Record<string, unknown> = {}): void {
    this.opts.metrics?.packet(kind, messageType(p), parts ? parts.client.arch : null);
    const log = this.opts.log;
    if (!log.enabled('info')) return;
    log.info(`dhcp ${kind}`, {
      mac: macOf(p),
      xid: p.xid,
      client: `${to}:${port}`,
      ...(parts ? { arch: parts.client.arch, firmware: parts.client.firmware, strategy: appliedStrategy(parts.client, parts.answer), bootFile: parts.answer.bootFile } : {}),
      ...extra,
    });
  }

  /** Sends without waiting: a send error (no route, ENOBUFS) is about one reply, not the socket; it is logged. */
  private send(sock: dgram.Socket | null, reply: DhcpPacket | Buffer, address: string, port: number): void {
    const buf = Buffer.isBuffer(reply) ? reply : encode(reply);
    if (!sock) return;
    const done = (err: Error | null): void => {
      if (err) this.warn('send', 'dhcp reply not sent', { to: `${address}:${port}`, err: describeError(err) });
    };
    if (sock === this.tx && this.bcast && address === BROADCAST && port === (this.opts.clientPort ?? 68)) this.bcast.send(buf, done);
    else sock.send(buf, port, address, done);
  }

  // ---- proxy mode, :67 (protocol.md §2) ----

  private handleProxy(p: DhcpPacket, type: number, rinfo: dgram.RemoteInfo): Promise<void> | void {
    if (type === MSG.REQUEST) {
      const sid = serverId(p);
      if (sid === this.addr) {
        // Boot information for a client that already has its address (ciaddr) or asks for a boot item (43.71).
        // A client trying to lease our yiaddr-0 offer gets silence: a proxy never looks like an address server.
        const bootItem = pxeVendorOptions(p)?.some((o) => o.code === PXE_SUB.BOOT_ITEM) ?? false;
        if (p.ciaddr !== ZERO || bootItem) return this.handleProxyRequest(p, rinfo);
        return this.ignore('REQUEST to lease a proxy offer (proxy mode never leases)', p, rinfo);
      }
      // A REQUEST to the LAN's DHCP server: never answered (netboot-lab gotcha 9), but option 50 tells us the
      // address this MAC will use.
      const ip = requestedIp(p);
      if (ip !== null && matchVendorPrefix(p, this.opts.vendorPrefixes ?? DEFAULT_VENDOR_PREFIXES) !== null) {
        this.opts.policy.dhcpObserved({ mac: macOf(p), ip, source: 'request-opt50' });
      }
      return this.ignore('REQUEST on :67 for another server', p, rinfo);
    }
    if (type !== MSG.DISCOVER) return this.ignore(`${MSG_NAMES[type] ?? type} on :67`, p, rinfo);
    const parts = this.bootParts(p, 'proxy-offer', rinfo, true);
    if (parts instanceof Promise) return parts.then((x) => this.proxyOffer(p, x, rinfo));
    this.proxyOffer(p, parts, rinfo);
  }

  private proxyOffer(p: DhcpPacket, parts: BootReplyParts | null, rinfo: dgram.RemoteInfo): void {
    if (!parts) return this.ignore('not a PXE client, or the policy says no', p, rinfo);
    const reply = this.offerEncoder.encode(p, parts, this.addr);
    const relayed = p.giaddr !== ZERO;
    const to = relayed ? p.giaddr : BROADCAST;
    const port = relayed ? (this.opts.port ?? 67) : (this.opts.clientPort ?? 68);
    this.send(this.tx, reply, to, port);
    this.counters.offers++;
    this.logReply('proxy offer', p, parts, to, port);
  }

  /**
   * A :67 REQUEST whose option 54 is ours, from a client that has its address (ciaddr) or asks for a boot item:
   * some PXE ROMs ask the proxy for boot information this way, and Boot Server Discovery (43.71) may be broadcast
   * to :67. Answered like :4011 (ACK, yiaddr 0, boot file), delivered per
   * RFC 2131 §4.1: relay -> giaddr:67, a client with an address -> ciaddr:68, else broadcast.
   */
  private async handleProxyRequest(p: DhcpPacket, rinfo: dgram.RemoteInfo): Promise<void> {
    if (p.ciaddr !== ZERO) this.opts.policy.dhcpObserved({ mac: macOf(p), ip: p.ciaddr, source: 'ciaddr' });
    const parts = await this.bootParts(p, 'proxy-ack', rinfo, true);
    if (!parts) return this.ignore('REQUEST to us from a client the policy does not boot', p, rinfo);
    const reply = buildBootServerAck(p, parts, this.addr);
    reply.flags |= FLAG_BROADCAST;
    const cport = this.opts.clientPort ?? 68;
    const [to, port] = p.giaddr !== ZERO ? [p.giaddr, this.opts.port ?? 67] : p.ciaddr !== ZERO ? [p.ciaddr, cport] : [BROADCAST, cport];
    this.send(this.tx, reply, to, port);
    this.counters.acks++;
    this.logReply('proxy ack', p, parts, to, port);
  }

  // ---- :4011 boot server (protocol.md §3) ----

  private async handleBootServer(p: DhcpPacket, type: number, rinfo: dgram.RemoteInfo): Promise<void> {
    if (type !== MSG.REQUEST && type !== MSG.INFORM) return this.ignore(`${MSG_NAMES[type] ?? type} on :4011`, p, rinfo);
    if (p.ciaddr !== ZERO) this.opts.policy.dhcpObserved({ mac: macOf(p), ip: p.ciaddr, source: 'ciaddr' });
    // UEFI HTTP boot never uses 4011 (protocol.md §3.1).
    const parts = await this.bootParts(p, 'proxy-ack-4011', rinfo, false);
    if (!parts) return this.ignore('not a PXE client, or the policy says no', p, rinfo);
    const reply = buildBootServerAck(p, parts, this.addr);
    // Unicast to the source ip:port (EDK2 listens on 4011, iPXE on 68); never broadcast (Q22).
    this.send(this.boot, reply, rinfo.address, rinfo.port);
    this.counters.acks++;
    this.logReply('boot server ack', p, parts, rinfo.address, rinfo.port);
  }

  // ---- full DHCP mode (protocol.md §7; RFC 2131 §4.3) ----

  private full(): FullDhcpOptions {
    return this.opts.full!;
  }

  private poolOf(): LeasePool {
    const f = this.full();
    this.leasePool ??= new LeasePool({ poolStart: f.poolStart, poolEnd: f.poolEnd, leases: f.leases, reservations: f.reservations, exclude: [this.addr] });
    return this.leasePool;
  }

  private network(): { subnetMask: string; router?: string; dns?: string[]; domain?: string } {
    const f = this.full();
    return { subnetMask: f.subnetMask ?? this.netmask, router: f.router, dns: f.dns, domain: f.domain };
  }

  /** RFC 2131 §4.1 delivery: relay -> giaddr:67; NAK -> broadcast; renewing client -> ciaddr:68; else broadcast. */
  private deliver(reply: DhcpPacket, req: DhcpPacket, type: number): [string, number] {
    const cport = this.opts.clientPort ?? 68;
    let to: [string, number];
    if (req.giaddr !== ZERO) to = [req.giaddr, this.opts.port ?? 67];
    else if (type !== MSG.NAK && req.ciaddr !== ZERO) to = [req.ciaddr, cport];
    else to = [BROADCAST, cport];
    if (to[0] === BROADCAST || req.giaddr !== ZERO) reply.flags |= req.flags & FLAG_BROADCAST;
    this.send(this.tx, reply, to[0], to[1]);
    return to;
  }

  private async handleFull(p: DhcpPacket, type: number, rinfo: dgram.RemoteInfo): Promise<void> {
    const f = this.full();
    const pool = this.poolOf();
    const mac = macOf(p);
    const now = Date.now();
    const leaseSeconds = f.leaseSeconds ?? 3600;
    switch (type) {
      case MSG.DISCOVER: {
        const ip = pool.allocate(mac, requestedIp(p), now);
        if (ip === null) {
          this.warn('pool', 'address pool exhausted', { mac });
          return;
        }
        const hostname = pool.reservationFor(mac)?.hostname ?? null;
        const boot = await this.bootParts(p, 'dhcp-offer', rinfo, true);
        pool.record(ip, mac, 'offered', f.offerHoldSeconds ?? 60, hostname, now);
        const reply = buildLeaseReply(p, { type: MSG.OFFER, yiaddr: ip, serverAddress: this.addr, leaseSeconds, network: this.network(), hostname, boot });
        const [to, port] = this.deliver(reply, p, MSG.OFFER);
        this.counters.offers++;
        this.logReply('offer', p, boot, to, port, { ip });
        return;
      }
      case MSG.REQUEST: {
        const sid = serverId(p);
        if (sid !== null && sid !== this.addr) {
          // The client chose another server: drop our pending offer.
          const mine = f.leases.leaseForMac(mac);
          if (mine && mine.state === 'offered') f.leases.leaseDelete(mine.ip);
          return this.ignore('REQUEST for another server', p, rinfo);
        }
        const ip = requestedIp(p) ?? (p.ciaddr !== ZERO ? p.ciaddr : null);
        if (ip === null) return this.ignore('REQUEST without an address', p, rinfo);
        if (!pool.canLease(mac, ip, now)) {
          const reply = buildLeaseReply(p, { type: MSG.NAK, yiaddr: ZERO, serverAddress: this.addr, message: 'address not available' });
          const [to, port] = this.deliver(reply, p, MSG.NAK);
          this.counters.naks++;
          this.logReply('nak', p, null, to, port, { ip });
          return;
        }
        const hostname = pool.reservationFor(mac)?.hostname ?? null;
        const boot = await this.bootParts(p, 'dhcp-ack', rinfo, true);
        pool.record(ip, mac, 'bound', leaseSeconds, hostname, now);
        this.opts.policy.dhcpObserved({ mac, ip, source: 'lease' });
        const reply = buildLeaseReply(p, { type: MSG.ACK, yiaddr: ip, serverAddress: this.addr, leaseSeconds, network: this.network(), hostname, boot });
        const [to, port] = this.deliver(reply, p, MSG.ACK);
        this.counters.acks++;
        this.logReply('ack', p, boot, to, port, { ip });
        return;
      }
      case MSG.RELEASE: {
        const lease = f.leases.leaseGet(p.ciaddr);
        if (lease && lease.mac === mac) pool.record(lease.ip, mac, 'released', 0, lease.hostname, now);
        this.opts.log.info('dhcp release', { mac, xid: p.xid, ip: p.ciaddr });
        return;
      }
      case MSG.DECLINE: {
        const ip = requestedIp(p);
        const lease = ip === null ? null : f.leases.leaseGet(ip);
        if (lease && lease.mac === mac) pool.record(lease.ip, mac, 'declined', f.declineHoldSeconds ?? 600, null, now);
        this.opts.log.warn('dhcp decline', { mac, xid: p.xid, ip });
        return;
      }
      case MSG.INFORM: {
        const boot = await this.bootParts(p, 'dhcp-ack', rinfo, true);
        const reply = buildLeaseReply(p, { type: MSG.ACK, yiaddr: ZERO, serverAddress: this.addr, network: this.network(), boot, echoCiaddr: true });
        this.send(this.tx, reply, p.ciaddr !== ZERO ? p.ciaddr : rinfo.address, rinfo.port);
        this.counters.acks++;
        return;
      }
      default:
        return this.ignore(`${MSG_NAMES[type] ?? type} in full mode`, p, rinfo);
    }
  }

  /**
   * Broadcasts one DISCOVER from <address>:68 and listens on 0.0.0.0:68. Any OFFER for it means another DHCP server
   * serves this segment: throws DHCP_CONFLICT. Runs before the service binds 67.
   */
  private async probeOtherServer(): Promise<void> {
    const f = this.full();
    const cport = this.opts.clientPort ?? 68;
    const sport = this.opts.port ?? 67;
    const rx = await bindUdp(ZERO, cport, false);
    let tx: dgram.Socket | null = null;
    try {
      tx = await bindUdp(this.addr, cport, true);
      const xid = randomBytes(4).readUInt32BE(0);
      const mac = Buffer.concat([Buffer.from([0x02]), randomBytes(5)]); // locally administered
      const probe: DhcpPacket = {
        op: BOOTREQUEST, htype: 1, hlen: 6, hops: 0, xid, secs: 0, flags: FLAG_BROADCAST,
        ciaddr: ZERO, yiaddr: ZERO, siaddr: ZERO, giaddr: ZERO,
        chaddr: Buffer.concat([mac, Buffer.alloc(10)]), sname: '', file: '',
        options: [
          { code: OPT.MESSAGE_TYPE, data: Buffer.from([MSG.DISCOVER]) },
          { code: OPT.PARAM_REQUEST, data: Buffer.from([OPT.SUBNET_MASK, OPT.ROUTER, OPT.SERVER_ID]) },
        ],
      };
      const other = await new Promise<string | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), f.probeTimeoutMs ?? 3500);
        rx.on('message', (msg, rinfo) => {
          try {
            const r = decode(msg);
            if (r.op === 2 && r.xid === xid && messageType(r) === MSG.OFFER) {
              clearTimeout(timer);
              resolve(serverId(r) ?? rinfo.address);
            }
          } catch {
            /* not a DHCP reply: keep listening */
          }
        });
        tx!.send(encode(probe), sport, BROADCAST, (err) => {
          if (err) {
            clearTimeout(timer);
            this.opts.log.warn('dhcp probe not sent', { err: describeError(err) });
            resolve(null);
          }
        });
      });
      if (other !== null) {
        throw new PxedError('DHCP_CONFLICT', `another DHCP server (${other}) answers on this interface; refusing full DHCP mode`, { server: other });
      }
      this.opts.log.info('dhcp probe: no other DHCP server answered', { address: this.addr });
    } finally {
      await closeSocket(tx);
      await closeSocket(rx);
    }
  }
}
