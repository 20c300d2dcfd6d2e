// Read-only TFTP service (RFC 1350, options RFC 2347/2348/2349/7440). Knows nothing about booting: its one seam is
// TftpBootPolicy.tftpOpen (a dynamic per-client file, or null to fall back to the static roots) and
// tftpTransferred (one report per request that reached a decision, however it ended).
//
// Order of checks for an RRQ (protocol.md §6): mode -> caps -> confinement -> existence (policy, then roots) -> OACK.
// A missing file is answered with ERROR 1 at once, never after an OACK (PXELINUX stalls otherwise, Q8).

import dgram from 'node:dgram';
import fs from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import path from 'node:path';
import type { TftpBootPolicy, TftpClientRef, TftpTransferReport } from '../boot/types.js';
import { describeError, isPxedError, PxedError } from '../errors.js';
import { rateLimited, silentLogger, type Logger } from '../log.js';
import type { TftpMetricsPort } from '../appliance/metrics.js';
import type { Service } from '../service.js';
import { decode, encode, ERR, OP, type TftpPacket, type TftpRequest } from './codec.js';
import { FileCache, type FileCacheStats } from './cache.js';
import { confine, type ConfinedPath } from './confine.js';
import { BLKSIZE_MAX, negotiate, WINDOWSIZE_MAX } from './negotiate.js';
import { BufferSource, FileSource, StreamSource, type Source } from './source.js';
import { Transfer, type TransferEnd } from './transfer.js';

export interface TftpServiceOptions {
  /**
   * Local addresses to listen on, one socket each: dgram cannot report a datagram's destination address, and each
   * transfer socket is bound to the address its RRQ came to (the one the client was told as siaddr).
   */
  listen: readonly string[];
  /** UDP port (default 69). */
  port?: number;
  /** Static roots, tried in order (e.g. a site folder, then /usr/lib/ipxe). */
  roots: readonly string[];
  /** Largest blksize granted (8..65464; default 1468 = 1500-byte MTU - 20 IP - 8 UDP - 4 TFTP). */
  maxBlksize?: number;
  /** Largest windowsize granted (RFC 7440; default 32, dnsmasq's cap). */
  maxWindowsize?: number;
  /** First retransmission timeout in ms (default 1000). A client's `timeout` option is echoed but not used. */
  timeoutMs?: number;
  /** Back-off factor per retransmission (default 2) and its ceiling in ms (default 8000). */
  backoff?: number;
  maxTimeoutMs?: number;
  /** Retransmissions of the same packet before giving up (default 5). */
  retries?: number;
  /** Concurrent transfers, in total and per client IP (defaults 200 and 16). Beyond: ERROR 0 "server busy". */
  maxTransfers?: number;
  maxTransfersPerClient?: number;
  /**
   * In-memory cache of static files (bytes in total, default 64 MiB; 0 = off) and the largest file it takes (default
   * 16 MiB). Boot loaders are small and every machine asks for the same few; a changed file is noticed per request.
   */
  cacheBytes?: number;
  cacheFileBytes?: number;
  /** Answer iPXE's `autoexec.ipxe` probe with an instant ERROR 1 without asking policy or roots (default true, Q14). */
  autoexecNotFound?: boolean;
  /** Dynamic files and transfer reports. Without it only the static roots are served. */
  policy?: TftpBootPolicy;
  log?: Logger;
  /** Called when a listening socket fails after start (the daemon should stop in order). */
  onFatal?: (err: Error) => void;
  metrics?: TftpMetricsPort;
}

export const TFTP_DEFAULTS = {
  port: 69,
  maxBlksize: 1468,
  maxWindowsize: 32,
  timeoutMs: 1000,
  backoff: 2,
  maxTimeoutMs: 8000,
  retries: 5,
  maxTransfers: 200,
  maxTransfersPerClient: 16,
  autoexecNotFound: true,
  cacheBytes: 64 * 1024 * 1024,
  cacheFileBytes: 16 * 1024 * 1024,
} as const;

export interface TftpStats {
  /** Transfers sending data now. */
  active: number;
  /** Requests being checked (confinement, policy, open) that count against the caps. */
  pending: number;
  /** Open UDP sockets: listeners plus two per active transfer (connected transfer socket + wrong-TID guard). */
  sockets: number;
  started: number;
  completed: number;
  failed: number;
  refused: number;
  /** Timer-driven retransmission rounds, summed over ended transfers. */
  retransmits: number;
  cache: FileCacheStats;
}

export interface TftpTransferInfo {
  client: TftpClientRef;
  path: string;
  size: number;
  blksize: number;
  windowsize: number;
  bytesAcked: number;
  ageMs: number;
}

/** Bytes read from a file per thread-pool round trip (files not in the cache; one chunk is read ahead). */
const READ_CHUNK = 256 * 1024;
/** How often the sweep looks for expired retransmission deadlines, at most. */
const MAX_SWEEP_MS = 100;

interface Active {
  transfer: Transfer;
  /** The filename as the client sent it (to recognise a retransmitted RRQ). */
  raw: string;
  socket: dgram.Socket;
  options: Record<string, string>;
  tsizeAsked: boolean;
}

export class TftpService implements Service {
  readonly name = 'tftp';
  private readonly cfg: Required<Omit<TftpServiceOptions, 'policy' | 'onFatal' | 'log' | 'metrics'>>;
  private readonly cache: FileCache;
  private readonly log: Logger;
  private readonly warnLimited: ReturnType<typeof rateLimited>;
  private readonly listeners: dgram.Socket[] = [];
  private readonly transfers = new Map<string, Active>();
  /** Requests being set up: key -> latest raw filename (a repeated RRQ for it is ignored). */
  private readonly pending = new Map<string, string>();
  /** Requests being set up (they count against the caps). */
  private pendingCount = 0;
  private readonly perClient = new Map<string, number>();
  private sweep: NodeJS.Timeout | null = null;
  private realRoots: string[] = [];
  private running = false;
  private openSockets = 0;
  private readonly counters = { started: 0, completed: 0, failed: 0, refused: 0, retransmits: 0 };

  constructor(private readonly opts: TftpServiceOptions) {
    this.cfg = {
      listen: opts.listen,
      roots: opts.roots,
      port: opts.port ?? TFTP_DEFAULTS.port,
      maxBlksize: Math.max(8, Math.min(opts.maxBlksize ?? TFTP_DEFAULTS.maxBlksize, BLKSIZE_MAX)),
      maxWindowsize: Math.max(1, Math.min(opts.maxWindowsize ?? TFTP_DEFAULTS.maxWindowsize, WINDOWSIZE_MAX)),
      timeoutMs: opts.timeoutMs ?? TFTP_DEFAULTS.timeoutMs,
      backoff: opts.backoff ?? TFTP_DEFAULTS.backoff,
      maxTimeoutMs: opts.maxTimeoutMs ?? TFTP_DEFAULTS.maxTimeoutMs,
      retries: opts.retries ?? TFTP_DEFAULTS.retries,
      maxTransfers: opts.maxTransfers ?? TFTP_DEFAULTS.maxTransfers,
      maxTransfersPerClient: opts.maxTransfersPerClient ?? TFTP_DEFAULTS.maxTransfersPerClient,
      autoexecNotFound: opts.autoexecNotFound ?? TFTP_DEFAULTS.autoexecNotFound,
      cacheBytes: Math.max(0, opts.cacheBytes ?? TFTP_DEFAULTS.cacheBytes),
      cacheFileBytes: Math.max(0, opts.cacheFileBytes ?? TFTP_DEFAULTS.cacheFileBytes),
    };
    this.cache = new FileCache({ maxBytes: this.cfg.cacheBytes, maxFileBytes: this.cfg.cacheFileBytes });
    this.log = (opts.log ?? silentLogger).child({ svc: 'tftp' });
    this.warnLimited = rateLimited(this.log);
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (this.cfg.listen.length === 0) throw new PxedError('TFTP_CONFIG', 'no listen address');
    // Roots resolved once; a root that does not exist (yet) is skipped with a warning.
    this.realRoots = [];
    for (const root of this.cfg.roots) {
      try {
        this.realRoots.push(await fs.realpath(root));
      } catch (err) {
        this.log.warn('TFTP root not available, skipped', { root, err: describeError(err) });
      }
    }
    try {
      for (const address of this.cfg.listen) {
        const sock = this.newSocket(address);
        await bind(sock, address, this.cfg.port);
        sock.on('message', (msg, rinfo) => this.onRequest(sock, address, msg, rinfo));
        sock.on('error', (err) => {
          this.log.error('listening socket failed', { address, err: describeError(err) });
          this.opts.onFatal?.(err);
        });
        this.listeners.push(sock);
        this.log.info('listening', { address, port: this.cfg.port });
      }
    } catch (err) {
      await this.closeListeners();
      throw new PxedError('TFTP_BIND', `cannot bind TFTP port ${this.cfg.port}: ${describeError(err)}`, { listen: this.cfg.listen }, { cause: err });
    }
    this.running = true;
    const sweepMs = Math.max(5, Math.min(MAX_SWEEP_MS, Math.floor(this.cfg.timeoutMs / 4)));
    this.sweep = setInterval(() => this.onSweep(), sweepMs);
    this.sweep.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    for (const a of [...this.transfers.values()]) a.transfer.abort('server stopping');
    await this.closeListeners();
    // Transfer sockets close on the next turn of the loop (after any queued ERROR left).
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  }

  /** The bound port of the first listener (useful with port 0 in tests). */
  get port(): number {
    const l = this.listeners[0];
    return l ? l.address().port : this.cfg.port;
  }

  stats(): TftpStats {
    return { active: this.transfers.size, pending: this.pendingCount, sockets: this.openSockets, ...this.counters, cache: this.cache.stats() };
  }

  activeTransfers(): TftpTransferInfo[] {
    const now = Date.now();
    return [...this.transfers.values()].map(({ transfer: t }) => ({
      client: { address: t.address, port: t.port },
      path: t.name,
      size: t.size,
      blksize: t.blksize,
      windowsize: t.windowsize,
      bytesAcked: t.bytesAcked,
      ageMs: now - t.startedAt,
    }));
  }

  private newSocket(address: string, reuseAddr = false): dgram.Socket {
    // Peers are always IP literals: a synchronous lookup saves dgram's per-send DNS round through nextTick.
    // reuseAddr only for a transfer's two sockets (the guard shares the transfer socket's port, see handleRrq);
    // listeners never set it, so a second daemon on port 69 fails to bind instead of sharing it unnoticed.
    const sock = dgram.createSocket({ type: ipFamily(address) === 6 ? 'udp6' : 'udp4', lookup: literalLookup, reuseAddr });
    this.openSockets++;
    sock.once('close', () => this.openSockets--);
    return sock;
  }

  private async closeListeners(): Promise<void> {
    const socks = this.listeners.splice(0);
    await Promise.all(socks.map((s) => new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    })));
  }

  private onSweep(): void {
    const now = Date.now();
    for (const a of this.transfers.values()) a.transfer.tick(now);
  }

  private reply(sock: dgram.Socket, rinfo: dgram.RemoteInfo, code: number, message: string): void {
    sock.send(encode({ op: 'error', code, message }), rinfo.port, rinfo.address);
  }

  /** Listener loop: never throws; a bad packet is answered or dropped and the loop carries on. */
  private onRequest(sock: dgram.Socket, local: string, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const opcode = msg.length >= 2 ? msg.readUInt16BE(0) : -1;
    if (opcode === OP.ERROR) return; // an ERROR is never answered (RFC 1350 §7)
    if (opcode === OP.WRQ) {
      this.log.debug('write request refused', { client: rinfo.address });
      this.reply(sock, rinfo, ERR.ACCESS_VIOLATION, 'read-only server: writes are not allowed');
      return;
    }
    if (opcode !== OP.RRQ) {
      this.log.debug('illegal operation on the request port', { client: rinfo.address, opcode });
      this.reply(sock, rinfo, ERR.ILLEGAL_OPERATION, 'illegal TFTP operation');
      return;
    }
    let pkt: TftpPacket;
    try {
      pkt = decode(msg);
    } catch (err) {
      this.warnLimited(`malformed:${rinfo.address}`, 'malformed request', { client: rinfo.address, err: describeError(err) });
      this.reply(sock, rinfo, ERR.ILLEGAL_OPERATION, 'malformed request');
      return;
    }
    if (pkt.op !== 'rrq') return;
    this.handleRrq(sock, local, pkt, rinfo).catch((err: unknown) => {
      this.log.error('request handling failed', { client: rinfo.address, err: describeError(err) });
    });
  }

  private async handleRrq(
    sock: dgram.Socket,
    local: string,
    rrq: TftpRequest,
    rinfo: dgram.RemoteInfo,
  ): Promise<void> {
    const client: TftpClientRef = { address: rinfo.address, port: rinfo.port };
    const key = `${rinfo.address}|${rinfo.port}`;
    const started = Date.now();
    const requested: Record<string, string> = {};
    for (const o of rrq.options) requested[o.name.toLowerCase()] ??= o.value;
    const refuse = (code: number, message: string, outcome: string, detail?: string): void => {
      this.reply(sock, rinfo, code, message);
      this.counters.refused++;
      this.opts.metrics?.transfer('refused', 0, 0, 0);
      this.report({ client, path: rrq.filename, options: requested, bytes: 0, durationMs: Date.now() - started, outcome, detail: detail ?? message });
    };

    // Same ip:port asking again: the same file while it runs is a retransmitted RRQ (ignore); another file
    // replaces the old transfer (protocol.md §6 item 2).
    if (this.pending.get(key) === rrq.filename) return; // retransmitted RRQ while we set it up
    const existing = this.transfers.get(key);
    if (existing) {
      if (existing.raw === rrq.filename) return;
      existing.transfer.abort('superseded by a new request from the same port');
    }

    const mode = rrq.mode.toLowerCase();
    if (mode !== 'octet') {
      refuse(ERR.ILLEGAL_OPERATION, mode === 'netascii' ? 'netascii mode is not supported: use octet' : `unsupported mode "${rrq.mode.slice(0, 20)}": use octet`, 'refused');
      return;
    }
    const clientCount = this.perClient.get(rinfo.address) ?? 0;
    if (this.transfers.size + this.pendingCount >= this.cfg.maxTransfers) {
      refuse(ERR.NOT_DEFINED, 'server busy: too many concurrent transfers, retry later', 'refused', 'global transfer cap');
      return;
    }
    if (clientCount >= this.cfg.maxTransfersPerClient) {
      refuse(ERR.NOT_DEFINED, 'server busy: too many concurrent transfers from this client', 'refused', 'per-client transfer cap');
      return;
    }

    this.pending.set(key, rrq.filename);
    this.pendingCount++;
    this.perClient.set(rinfo.address, clientCount + 1);
    let source: Source | null = null;
    let handedOver = false;
    try {
      let found: ConfinedPath;
      try {
        found = await confine(rrq.filename, this.realRoots, { rootsAreReal: true });
      } catch (err) {
        if (!isPxedError(err, 'TFTP_ACCESS_DENIED')) throw err;
        this.warnLimited(`denied:${rinfo.address}`, 'path refused', { client: rinfo.address, path: rrq.filename.slice(0, 300), err: describeError(err) });
        refuse(ERR.ACCESS_VIOLATION, 'access violation', 'denied', describeError(err));
        return;
      }
      const name = found.name;
      if (this.cfg.autoexecNotFound && path.posix.basename(name) === 'autoexec.ipxe') {
        this.log.debug('autoexec.ipxe probe answered not-found', { client: rinfo.address });
        refuse(ERR.NOT_FOUND, 'file not found', 'not-found');
        return;
      }
      const dynamic = this.opts.policy ? await this.opts.policy.tftpOpen(name, client) : null;
      if (dynamic) {
        source = new StreamSource(dynamic.stream, dynamic.size);
      } else if (found.file !== null && this.cache.accepts(Number(found.stat.size))) {
        source = new BufferSource(await this.cache.get(found.file, found.stat));
      } else if (found.file !== null) {
        const fh = await fs.open(found.file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
        try {
          const st = await fh.stat();
          if (!st.isFile()) throw new Error('not a regular file');
          source = new FileSource(fh, st.size, Math.max(READ_CHUNK, this.cfg.maxBlksize));
        } catch (err) {
          await fh.close();
          throw err;
        }
      }
      if (!source) {
        this.log.debug('file not found', { client: rinfo.address, path: name });
        refuse(ERR.NOT_FOUND, 'file not found', 'not-found');
        return;
      }
      if (!this.running) return;

      const neg = negotiate(rrq.options, source.size, { maxBlksize: this.cfg.maxBlksize, maxWindowsize: this.cfg.maxWindowsize });
      // Two sockets on one ephemeral port (the new TID): `tsock` connected to the client carries the transfer
      // (the kernel prefers the connected socket for the client's packets); `guard` gets every other sender and
      // answers ERROR 5 (RFC 1350 §4), so a stray packet never disturbs the transfer.
      const tsock = this.newSocket(local, true);
      const guard = this.newSocket(local, true);
      try {
        await bind(tsock, local, 0);
        await bind(guard, local, tsock.address().port);
        await new Promise<void>((resolve, reject) => {
          tsock.once('error', reject);
          tsock.connect(rinfo.port, rinfo.address, () => {
            tsock.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        closeQuietly(tsock);
        closeQuietly(guard);
        throw err;
      }
      guard.on('message', (_msg, ri) => {
        if (ri.address === rinfo.address && ri.port === rinfo.port) return;
        this.reply(guard, ri, ERR.UNKNOWN_TID, 'unknown transfer ID');
      });
      guard.on('error', () => undefined);
      if (!this.running) {
        closeQuietly(tsock);
        closeQuietly(guard);
        return;
      }
      // A client's `timeout` is echoed (EDK2 requires it unchanged) but our own timer stays the configured one:
      // retransmitting earlier than the client would is harmless, and a vanished client must not hold a slot for
      // minutes (curl asks for 6 s, the option allows 255 s).
      const initial = this.cfg.timeoutMs;
      const transfer = new Transfer({
        socket: tsock,
        address: rinfo.address,
        port: rinfo.port,
        name,
        source,
        blksize: neg.blksize,
        windowsize: neg.windowsize,
        oack: neg.oack,
        timing: { initialTimeoutMs: initial, maxTimeoutMs: Math.max(initial, this.cfg.maxTimeoutMs), backoff: this.cfg.backoff, retries: this.cfg.retries },
        onEnd: (t, end) => this.onTransferEnd(t, end, [tsock, guard], source!, client, neg.accepted, neg.tsizeAsked),
      });
      tsock.on('error', (err) => {
        this.log.debug('transfer socket error', { client: rinfo.address, err: describeError(err) });
        transfer.abort(`socket error: ${describeError(err)}`);
      });
      if (this.pending.get(key) === rrq.filename) this.pending.delete(key);
      // Another RRQ from the same port may have finished setting up meanwhile: the newest wins.
      this.transfers.get(key)?.transfer.abort('superseded by a new request from the same port');
      this.transfers.set(key, { transfer, raw: rrq.filename, socket: tsock, options: neg.accepted, tsizeAsked: neg.tsizeAsked });
      handedOver = true;
      this.counters.started++;
      if (this.log.enabled('debug')) this.log.debug('transfer start', { client: rinfo.address, port: rinfo.port, path: name, size: source.size, options: neg.accepted });
      transfer.begin();
    } catch (err) {
      this.log.warn('cannot serve request', { client: rinfo.address, path: rrq.filename.slice(0, 300), err: describeError(err) });
      refuse(ERR.NOT_DEFINED, 'cannot read file', 'source-error', describeError(err));
    } finally {
      this.pendingCount--;
      if (!handedOver) {
        if (this.pending.get(key) === rrq.filename) this.pending.delete(key);
        this.releaseClient(rinfo.address);
        if (source) await source.close().catch(() => undefined);
      }
    }
  }

  private releaseClient(address: string): void {
    const n = (this.perClient.get(address) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(address);
    else this.perClient.set(address, n);
  }

  private onTransferEnd(
    t: Transfer,
    end: TransferEnd,
    socks: dgram.Socket[],
    source: Source,
    client: TftpClientRef,
    options: Record<string, string>,
    tsizeAsked: boolean,
  ): void {
    const key = `${client.address}|${client.port}`;
    if (this.transfers.get(key)?.transfer === t) this.transfers.delete(key);
    this.releaseClient(client.address);
    // Let an ERROR queued by the transfer leave before the socket goes.
    setImmediate(() => socks.forEach(closeQuietly));
    source.close().catch(() => undefined);
    const durationMs = Date.now() - t.startedAt;
    this.counters.retransmits += t.retransmits;
    const bytes = end.outcome === 'complete' ? t.size : t.bytesAcked;
    // EDK2 and legacy ROMs probe the size with tsize and abort with ERROR 8 (Q5, Q7): normal, reported as 'size-probe'.
    const probe = end.outcome === 'client-error' && (end.clientErrorCode === ERR.OPTION_REFUSED || tsizeAsked) && t.bytesAcked === 0;
    const outcome = probe ? 'size-probe' : end.outcome;
    const fields = { client: client.address, port: client.port, path: t.name, bytes, durationMs, options, outcome, detail: end.detail };
    if (end.outcome === 'complete') {
      this.counters.completed++;
      this.log.info('transfer complete', fields);
    } else if (probe) {
      this.counters.completed++;
      this.log.debug('size probe ended by client', fields);
    } else {
      this.counters.failed++;
      this.log.info('transfer ended', fields);
    }
    this.opts.metrics?.transfer(outcome, bytes, t.retransmits, durationMs);
    const report: TftpTransferReport = { client, path: t.name, options, bytes, durationMs, outcome };
    if (end.detail !== undefined) report.detail = end.detail;
    this.report(report);
  }

  private report(r: TftpTransferReport): void {
    if (!this.opts.policy) return;
    try {
      this.opts.policy.tftpTransferred(r);
    } catch (err) {
      this.log.warn('policy tftpTransferred threw', { err: describeError(err) });
    }
  }
}

function closeQuietly(sock: dgram.Socket): void {
  try {
    sock.close();
  } catch {
    /* already closed */
  }
}

function literalLookup(host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  cb(null, host, ipFamily(host));
}

/** Family of an IP literal (listen addresses and client addresses never are names): only IPv6 has colons. */
function ipFamily(literal: string): 4 | 6 {
  return literal.includes(':') ? 6 : 4;
}

function bind(sock: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once('error', onError);
    sock.bind({ address, port, exclusive: true }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}
