// The TFTP service's options, their defaults, and what it reports (stats, active transfers).

import type { TftpMetricsPort } from '../appliance/metrics.js';
import type { Logger } from '../log.js';
import type { FileCacheStats } from './cache.js';
import { BLKSIZE_MAX, WINDOWSIZE_MAX } from './negotiate.js';
import type { TftpClientRef, TftpPolicyPort } from './ports.js';

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
   * Transfers whose client has not ACKed yet (its source may be forged) have their own cap (default 64); when it is
   * full, a new request evicts the oldest of them, so forged RRQs can neither fill maxTransfers nor lock clients out.
   */
  maxUnconfirmed?: number;
  /** Retransmissions of the first OACK/DATA before an unconfirmed transfer is given up (default 1: two tries). */
  unconfirmedRetries?: number;
  /** Retransmitted bytes allowed per transfer: this many times the file size, at least 4 MiB (default 2). */
  retransmitRatio?: number;
  /** Directories symlinks inside a root may resolve into (default ['/boot']: Debian's ipxe.efi, ipxe.lkrn). */
  symlinkTargets?: readonly string[];
  /**
   * In-memory cache of static files (bytes in total, default 64 MiB; 0 = off) and the largest file it takes (default
   * 16 MiB). Boot loaders are small and every machine asks for the same few; a changed file is noticed per request.
   */
  cacheBytes?: number;
  cacheFileBytes?: number;
  /** Answer iPXE's `autoexec.ipxe` probe with an instant ERROR 1 without asking policy or roots (default true, docs/protocol.md Q14). */
  autoexecNotFound?: boolean;
  /** Dynamic files and transfer reports. Without it only the static roots are served. */
  policy?: TftpPolicyPort;
  log?: Logger;
  /** Called when a listening socket fails after start (the daemon should stop in order). */
  onFatal?: (err: Error) => void;
  /** Transfer counters for /metrics (src/appliance/metrics.ts); optional. */
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
  maxUnconfirmed: 64,
  unconfirmedRetries: 1,
  retransmitRatio: 2,
  symlinkTargets: ['/boot'] as readonly string[],
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
  /** Unconfirmed transfers ended to make room for a new request (maxUnconfirmed). */
  evicted: number;
  /** Timer-driven retransmission rounds, summed over ended transfers. */
  retransmits: number;
  /** DATA payload bytes sent more than once, summed over ended transfers. */
  retransmittedBytes: number;
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

/** Every option with its default applied and its range clamped (the service reads only these). */
export type ResolvedOptions = Required<Omit<TftpServiceOptions, 'policy' | 'onFatal' | 'log' | 'metrics'>>;

export function resolveOptions(opts: TftpServiceOptions): ResolvedOptions {
  return {
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
    maxUnconfirmed: Math.max(1, opts.maxUnconfirmed ?? TFTP_DEFAULTS.maxUnconfirmed),
    unconfirmedRetries: Math.max(0, opts.unconfirmedRetries ?? TFTP_DEFAULTS.unconfirmedRetries),
    retransmitRatio: Math.max(0, opts.retransmitRatio ?? TFTP_DEFAULTS.retransmitRatio),
    symlinkTargets: opts.symlinkTargets ?? TFTP_DEFAULTS.symlinkTargets,
    autoexecNotFound: opts.autoexecNotFound ?? TFTP_DEFAULTS.autoexecNotFound,
    cacheBytes: Math.max(0, opts.cacheBytes ?? TFTP_DEFAULTS.cacheBytes),
    cacheFileBytes: Math.max(0, opts.cacheFileBytes ?? TFTP_DEFAULTS.cacheFileBytes),
  };
}
