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
import type { AddressInfo } from 'node:net';
import { describeError, isPxedError, PxedError } from '../errors.js';
import { rateLimited, type Logger } from '../log.js';
import type { DhcpMetricsPort } from '../appliance/metrics.js';
import type { Service } from '../service.js';
import { DEFAULT_VENDOR_PREFIXES } from './classify.js';
import { BOOTREQUEST, decode, encode, macOf, messageType, type DhcpPacket } from './codec.js';
import type { DhcpContext, DhcpCounters, FullContext, Peer } from './context.js';
import { AnsweredExchanges } from './exchanges.js';
import { respondFull } from './full.js';
import { LeasePool, type Reservation } from './leases.js';
import type { DhcpBootPort, LeaseStore } from './ports.js';
import { probeDhcp } from './probe.js';
import { ProxyOfferEncoder } from './reply.js';
import { BROADCAST, fromOf, replyFields, respondBootServer, respondProxy, ZERO, type DhcpReply } from './respond.js';

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
  policy: DhcpBootPort;
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

export type DhcpStats = DhcpCounters;

type Via = 'rx' | 'tx' | 'boot';

export type { LeaseStore, Reservation };

/** Resolves the interface's first IPv4 address and netmask (os.networkInterfaces of this network namespace). */
export function interfaceAddress(name: string): { address: string; netmask: string } | null {
  const list = os.networkInterfaces()[name] ?? [];
  const v4 = list.find((a) => a.family === 'IPv4');
  return v4 ? { address: v4.address, netmask: v4.netmask } : null;
}

/** Our address and netmask from the options: the interface's (or a given address on it), or the address alone. */
export function resolveAddress(o: Pick<DhcpServiceOptions, 'interface' | 'address'>): { address: string; netmask: string } {
  if (o.interface) {
    const info = interfaceAddress(o.interface);
    if (!info) throw new PxedError('DHCP_NO_INTERFACE', `interface ${o.interface} has no IPv4 address`, { interface: o.interface });
    if (o.address && o.address !== info.address) {
      const all = (os.networkInterfaces()[o.interface] ?? []).map((a) => a.address);
      if (!all.includes(o.address)) throw new PxedError('DHCP_NO_INTERFACE', `address ${o.address} is not on ${o.interface}`, { interface: o.interface });
    }
    return { address: o.address ?? info.address, netmask: info.netmask };
  }
  if (o.address) return { address: o.address, netmask: '255.255.255.0' };
  throw new PxedError('DHCP_CONFIG', 'either interface or address is required');
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

/** The socket loop: binds, decodes, hands each request to its responder, sends what comes back. */
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
  private ctx: DhcpContext | null = null;
  private stopped = true;
  private readonly counters: DhcpCounters = { received: 0, malformed: 0, ignored: 0, offers: 0, acks: 0, naks: 0, policyErrors: 0 };
  private readonly warn: (key: string, msg: string, fields?: Record<string, unknown>) => void;

  constructor(private readonly opts: DhcpServiceOptions) {
    this.warn = rateLimited(opts.log);
  }

  /** Our address on the provisioning interface (valid after start()). */
  get address(): string {
    return this.ctx?.address ?? ZERO;
  }

  stats(): Readonly<DhcpStats> {
    return { ...this.counters };
  }

  /** Resolves every default once into the responders' context. */
  private buildContext(address: string, netmask: string): DhcpContext {
    const o = this.opts;
    const mode = o.mode ?? 'proxy';
    let full: FullContext | null = null;
    if (mode === 'full') {
      const f = o.full!;
      full = {
        pool: new LeasePool({ poolStart: f.poolStart, poolEnd: f.poolEnd, leases: f.leases, reservations: f.reservations, exclude: [address] }),
        leases: f.leases,
        leaseSeconds: f.leaseSeconds ?? 3600,
        offerHoldSeconds: f.offerHoldSeconds ?? 60,
        declineHoldSeconds: f.declineHoldSeconds ?? 600,
        network: { subnetMask: f.subnetMask ?? netmask, router: f.router, dns: f.dns, domain: f.domain },
      };
    }
    const log = o.log;
    const counters = this.counters;
    const metrics = o.metrics;
    return {
      address,
      serverPort: o.port ?? 67,
      clientPort: o.clientPort ?? 68,
      mode,
      vendorPrefixes: o.vendorPrefixes ?? DEFAULT_VENDOR_PREFIXES,
      ourUserClass: o.ourUserClass,
      policy: o.policy,
      offerEncoder: new ProxyOfferEncoder(),
      answered: new AnsweredExchanges(),
      full,
      log,
      counters,
      warn: this.warn,
      ignore(why: string, p: DhcpPacket | null, from: Peer): void {
        counters.ignored++;
        metrics?.packet('ignored', p ? messageType(p) : null, null);
        if (log.enabled('debug')) log.debug('dhcp packet ignored', { why, mac: p ? macOf(p) : undefined, xid: p?.xid, client: fromOf(from) });
      },
      now: () => Date.now(),
    };
  }

  async start(): Promise<void> {
    const o = this.opts;
    if ((o.mode ?? 'proxy') === 'full' && !o.full) throw new PxedError('DHCP_CONFIG', "mode 'full' needs the full-DHCP options");
    const { address, netmask } = resolveAddress(o);
    const ctx = this.buildContext(address, netmask);
    if (ctx.mode === 'full' && o.full!.probe !== false) await this.refuseBesideOtherServer(ctx, o.full!.probeTimeoutMs);

    try {
      this.rx = await bindUdp(ZERO, ctx.serverPort, false);
      this.tx = await bindUdp(address, ctx.serverPort, true);
      this.bcast = await bindUdp(address, ctx.serverPort, true);
      await connectUdp(this.bcast, BROADCAST, ctx.clientPort);
      if (o.bootServerPort !== null) this.boot = await bindUdp(address, o.bootServerPort ?? 4011, false);
    } catch (err) {
      await this.closeAll();
      throw err;
    }
    this.ctx = ctx;
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
    o.log.info('dhcp listening', { mode: ctx.mode, address, port: ctx.serverPort, bootServerPort: this.boot ? (this.boot.address() as AddressInfo).port : null });
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

  /** Nothing a packet contains may escape this loop: malformed -> warn (rate-limited), anything else -> error. */
  private onMessage(via: Via, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.stopped || !this.ctx) return;
    this.counters.received++;
    try {
      this.handle(this.ctx, via, msg, rinfo);
    } catch (err) {
      if (isPxedError(err, 'DHCP_MALFORMED')) {
        this.counters.malformed++;
        this.opts.metrics?.packet('malformed', null, null);
        this.warn('malformed', 'malformed DHCP packet', { from: fromOf(rinfo), reading: err.details?.reading });
      } else {
        this.warn('handler', 'DHCP packet handling failed', { from: fromOf(rinfo), err: describeError(err) });
      }
    }
  }

  private handle(ctx: DhcpContext, via: Via, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const p = decode(msg);
    if (p.op !== BOOTREQUEST || p.htype !== 1 || p.hlen !== 6) return ctx.ignore('not an Ethernet BOOTREQUEST', p, rinfo);
    const type = messageType(p);
    if (type === null) return ctx.ignore('no option 53 (BOOTP)', p, rinfo);
    let reply: DhcpReply | null;
    if (via === 'boot') reply = respondBootServer(p, type, ctx, rinfo);
    else if (ctx.mode === 'full') reply = respondFull(p, type, ctx, rinfo);
    else reply = respondProxy(p, type, ctx, rinfo);
    if (reply === null) return;
    this.send(reply);
    this.counters[reply.count]++;
    this.opts.metrics?.packet(reply.kind, type, null);
    if (ctx.log.enabled('info')) ctx.log.info(`dhcp ${reply.kind}`, replyFields(p, reply));
  }

  /** Sends without waiting: a send error (no route, ENOBUFS) is about one reply, not the socket; it is logged. */
  private send(r: DhcpReply): void {
    const sock = r.socket === 'boot' ? this.boot : this.tx;
    if (!sock) return;
    const buf = Buffer.isBuffer(r.packet) ? r.packet : encode(r.packet);
    const done = (err: Error | null): void => {
      if (err) this.warn('send', 'dhcp reply not sent', { to: `${r.to}:${r.port}`, err: describeError(err) });
    };
    if (r.socket === 'tx' && this.bcast && r.to === BROADCAST && r.port === this.ctx!.clientPort) this.bcast.send(buf, done);
    else sock.send(buf, r.port, r.to, done);
  }

  /** Full mode refuses to start when another server offers addresses here (runs before :67 is bound). */
  private async refuseBesideOtherServer(ctx: DhcpContext, timeoutMs: number | undefined): Promise<void> {
    const answers = await probeDhcp({
      address: ctx.address,
      pxe: false,
      timeoutMs: timeoutMs ?? 3500,
      serverPort: ctx.serverPort,
      clientPort: ctx.clientPort,
      until: () => true,
    });
    const other = answers[0];
    if (other !== undefined) {
      throw new PxedError('DHCP_CONFLICT', `another DHCP server (${other.server}) answers on this interface; refusing full DHCP mode`, { server: other.server });
    }
    this.opts.log.info('dhcp probe: no other DHCP server answered', { address: ctx.address });
  }
}
