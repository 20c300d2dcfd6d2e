// Read-only TFTP service (RFC 1350, options RFC 2347/2348/2349/7440). Knows nothing about booting: files come from
// a TftpFileOpener chain (the boot policy's generated files, then the static roots with their cache), and each
// request that reached a decision is reported once through TftpPolicyPort.tftpTransferred.
//
// Order of checks for an RRQ (docs/protocol.md §6): repeat -> mode -> caps -> confinement -> existence (policy, then
// roots) -> OACK. A missing file is answered with ERROR 1 at once, never after an OACK (PXELINUX stalls otherwise).

import type dgram from 'node:dgram';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describeError, isPxedError, PxedError } from '../errors.js';
import { rateLimited, silentLogger, type Logger } from '../log.js';
import type { Service } from '../service.js';
import { decode, ERR, OP, type TftpPacket, type TftpRequest } from './codec.js';
import { FileCache } from './cache.js';
import { resolveOptions, type ResolvedOptions, type TftpServiceOptions, type TftpStats, type TftpTransferInfo } from './options.js';
import { normalizeName } from './confine.js';
import { negotiate } from './negotiate.js';
import { firstOf, policyOpener, StaticRoots } from './open.js';
import type { TftpClientRef, TftpFileOpener, TftpTransferReport } from './ports.js';
import { launchTransfer, transferTiming } from './launch.js';
import { bind, sendError, udpSocket } from './sockets.js';
import type { Source } from './source.js';
import { endReport, type Transfer, type TransferEnd } from './transfer.js';

export type { TftpClientRef, TftpFileOpener, TftpPolicyPort, TftpTransferReport } from './ports.js';
export { TFTP_DEFAULTS, type TftpServiceOptions, type TftpStats, type TftpTransferInfo } from './options.js';

/** Bytes read from a file per thread-pool round trip (files not in the cache; one chunk is read ahead). */
const READ_CHUNK = 256 * 1024;
/** How often the sweep looks for expired retransmission deadlines, at most. */
const MAX_SWEEP_MS = 100;

interface Active {
  transfer: Transfer;
  /** The filename as the client sent it (to recognise a retransmitted RRQ). */
  raw: string;
}

export class TftpService implements Service {
  readonly name = 'tftp';
  private readonly cfg: ResolvedOptions;
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
  private opener: TftpFileOpener | null = null;
  private running = false;
  private openSockets = 0;
  private readonly counters = { started: 0, completed: 0, failed: 0, refused: 0, evicted: 0, retransmits: 0, retransmittedBytes: 0 };

  constructor(private readonly opts: TftpServiceOptions) {
    this.cfg = resolveOptions(opts);
    this.cache = new FileCache({ maxBytes: this.cfg.cacheBytes, maxFileBytes: this.cfg.cacheFileBytes });
    this.log = (opts.log ?? silentLogger).child({ svc: 'tftp' });
    this.warnLimited = rateLimited(this.log);
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (this.cfg.listen.length === 0) throw new PxedError('TFTP_CONFIG', 'no listen address');
    // Roots resolved once; a root that does not exist (yet) is skipped with a warning.
    const roots = await this.realPaths(this.cfg.roots, 'TFTP root not available, skipped');
    const symlinkTargets = await this.realPaths(this.cfg.symlinkTargets, null);
    const statics = new StaticRoots({ roots, symlinkTargets, cache: this.cache, readChunk: Math.max(READ_CHUNK, this.cfg.maxBlksize) });
    this.opener = this.opts.policy ? firstOf([policyOpener(this.opts.policy), statics]) : statics;
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

  /** Service.drain: closes the listeners (new requests go unanswered); resolves when transfers end or at `deadline`. */
  async drain(deadline: number): Promise<void> {
    await this.closeListeners();
    while ((this.transfers.size > 0 || this.pendingCount > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, deadline - Date.now()))));
    }
  }

  private async realPaths(dirs: readonly string[], warning: string | null): Promise<string[]> {
    const out: string[] = [];
    for (const d of dirs) {
      try {
        out.push(await fs.realpath(d));
      } catch (err) {
        if (warning !== null) this.log.warn(warning, { root: d, err: describeError(err) });
      }
    }
    return out;
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
    const sock = udpSocket(address, reuseAddr);
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
    sendError(sock, rinfo, code, message);
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

  /**
   * A repeated RRQ from the same ip:port: the same file while we set it up, or while the transfer is still sending
   * and making progress, is a retransmission (ignored; our timer resends). The same file to an unconfirmed transfer
   * that has fallen silent (sends used up) is answered again from that transfer's port: the client may have latched
   * onto it when our first answer arrived late, and would not hear a new port (seen at 1 000 machines in bench/storm).
   * The same file to a confirmed transfer stalled for a timeout means the client restarted the read: the stale
   * transfer ends and a fresh one starts, so it neither lingers nor counts twice. Another file supersedes.
   */
  private isRepeat(key: string, filename: string): boolean {
    if (this.pending.get(key) === filename) return true;
    const existing = this.transfers.get(key);
    if (!existing) return false;
    const t = existing.transfer;
    if (existing.raw === filename) {
      if (!t.confirmed) {
        if (t.silent) t.answerAgain(Date.now());
        return true;
      }
      if (Date.now() - t.lastProgressAt < this.cfg.timeoutMs) return true;
      t.abort('restarted: the same request again after the transfer stalled');
      return false;
    }
    t.abort('superseded by a new request from the same port');
    return false;
  }

  /**
   * The caps (null = admitted), checked per client, then unverified, then in total. Unverified transfers (no ACK
   * yet, or still being set up) have their own cap; when it is full the oldest unverified transfer is evicted
   * rather than the new request refused, so forged RRQs cannot lock real clients out.
   */
  private admit(address: string): string | null {
    if ((this.perClient.get(address) ?? 0) >= this.cfg.maxTransfersPerClient) return 'per-client transfer cap';
    let unconfirmed = this.pendingCount;
    let oldest: Transfer | null = null;
    for (const { transfer: t } of this.transfers.values()) {
      if (t.confirmed) continue;
      unconfirmed++;
      // Oldest first among those whose sends are used up (they cost their client least), then the oldest of all.
      if (oldest === null || (t.silent && !oldest.silent) || (t.silent === oldest.silent && t.startedAt < oldest.startedAt)) oldest = t;
    }
    if (unconfirmed >= this.cfg.maxUnconfirmed) {
      if (oldest === null) return 'unconfirmed transfer cap';
      this.counters.evicted++;
      oldest.abort('evicted: unconfirmed-transfer cap reached');
    }
    if (this.transfers.size + this.pendingCount >= this.cfg.maxTransfers) return 'global transfer cap';
    return null;
  }

  private async handleRrq(sock: dgram.Socket, local: string, rrq: TftpRequest, rinfo: dgram.RemoteInfo): Promise<void> {
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

    if (this.isRepeat(key, rrq.filename)) return;
    const mode = rrq.mode.toLowerCase();
    if (mode !== 'octet') {
      refuse(ERR.ILLEGAL_OPERATION, mode === 'netascii' ? 'netascii mode is not supported: use octet' : `unsupported mode "${rrq.mode.slice(0, 20)}": use octet`, 'refused');
      return;
    }
    const cap = this.admit(rinfo.address);
    if (cap !== null) {
      refuse(ERR.NOT_DEFINED, cap.startsWith('per-client') ? 'server busy: too many concurrent transfers from this client' : 'server busy: too many concurrent transfers, retry later', 'refused', cap);
      return;
    }

    this.pending.set(key, rrq.filename);
    this.pendingCount++;
    this.perClient.set(rinfo.address, (this.perClient.get(rinfo.address) ?? 0) + 1);
    let source: Source | null = null;
    let handedOver = false;
    try {
      let name: string;
      try {
        name = normalizeName(rrq.filename);
      } catch (err) {
        if (!isPxedError(err, 'TFTP_ACCESS_DENIED')) throw err;
        this.warnLimited(`denied:${rinfo.address}`, 'path refused', { client: rinfo.address, path: rrq.filename.slice(0, 300), err: describeError(err) });
        refuse(ERR.ACCESS_VIOLATION, 'access violation', 'denied', describeError(err));
        return;
      }
      if (this.cfg.autoexecNotFound && path.posix.basename(name) === 'autoexec.ipxe') {
        this.log.debug('autoexec.ipxe probe answered not-found', { client: rinfo.address });
        refuse(ERR.NOT_FOUND, 'file not found', 'not-found');
        return;
      }
      source = this.opener ? await this.opener.open(name, client) : null;
      if (!source) {
        this.log.debug('file not found', { client: rinfo.address, path: name });
        refuse(ERR.NOT_FOUND, 'file not found', 'not-found');
        return;
      }
      if (!this.running) return;
      handedOver = await this.begin(local, rrq, name, source, client);
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

  /** Negotiates, opens the transfer's sockets and starts it; false when the service stopped meanwhile. */
  private async begin(local: string, rrq: TftpRequest, name: string, source: Source, client: TftpClientRef): Promise<boolean> {
    const key = `${client.address}|${client.port}`;
    const neg = negotiate(rrq.options, source.size, { maxBlksize: this.cfg.maxBlksize, maxWindowsize: this.cfg.maxWindowsize });
    const transfer = await launchTransfer({
      local,
      client,
      source,
      spec: { name, blksize: neg.blksize, windowsize: neg.windowsize, oack: neg.oack, timing: transferTiming(this.cfg, source.size) },
      onEnd: (t, end) => this.onTransferEnd(t, end, client, neg.accepted, neg.tsizeAsked),
      newSocket: (a, reuse) => this.newSocket(a, reuse),
      running: () => this.running,
      log: this.log,
    });
    if (!transfer) return false;
    if (this.pending.get(key) === rrq.filename) this.pending.delete(key);
    // Another RRQ from the same port may have finished setting up meanwhile: the newest wins.
    this.transfers.get(key)?.transfer.abort('superseded by a new request from the same port');
    this.transfers.set(key, { transfer, raw: rrq.filename });
    this.counters.started++;
    if (this.log.enabled('debug')) this.log.debug('transfer start', { client: client.address, port: client.port, path: name, size: source.size, options: neg.accepted });
    transfer.begin();
    return true;
  }

  private releaseClient(address: string): void {
    const n = (this.perClient.get(address) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(address);
    else this.perClient.set(address, n);
  }

  /** Called by the transfer when it ends (its sockets are closing and its source is closed by launch.ts). */
  private onTransferEnd(t: Transfer, end: TransferEnd, client: TftpClientRef, options: Record<string, string>, tsizeAsked: boolean): void {
    const key = `${client.address}|${client.port}`;
    if (this.transfers.get(key)?.transfer === t) this.transfers.delete(key);
    this.releaseClient(client.address);
    this.counters.retransmits += t.retransmits;
    this.counters.retransmittedBytes += t.retransmittedBytes;
    const { report, kind } = endReport(t, end, client, options, tsizeAsked);
    const fields = { client: client.address, port: client.port, path: t.name, bytes: report.bytes, durationMs: report.durationMs, options, outcome: report.outcome, detail: end.detail };
    if (kind === 'failed') this.counters.failed++;
    else this.counters.completed++;
    if (kind === 'complete') this.log.info('transfer complete', fields);
    else if (kind === 'probe') this.log.debug('size probe ended by client', fields);
    else this.log.info('transfer ended', fields);
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
