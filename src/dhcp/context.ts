// Everything a responder needs, resolved once when the service starts (defaults, our address, the lease pool), so
// the per-packet code reads fields instead of re-deciding `?? default` at every site.

import type { Logger } from '../log.js';
import type { AnsweredExchanges } from './exchanges.js';
import type { LeasePool } from './leases.js';
import type { DhcpBootPort, LeaseStore } from './ports.js';
import type { NetworkOptions, ProxyOfferEncoder } from './reply.js';
import type { DhcpPacket } from './codec.js';

export interface FullContext {
  pool: LeasePool;
  leases: LeaseStore;
  leaseSeconds: number;
  offerHoldSeconds: number;
  declineHoldSeconds: number;
  /** Options 1/3/6/15 of every lease reply. */
  network: NetworkOptions;
}

export interface DhcpCounters {
  received: number;
  malformed: number;
  ignored: number;
  offers: number;
  acks: number;
  naks: number;
  policyErrors: number;
}

/** Where a request came from; formatted ("ip:port") only when something is logged. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

export interface DhcpContext {
  /** Our address on the provisioning interface: option 54, siaddr, source of every reply. */
  readonly address: string;
  /** The server port (relayed replies go to giaddr:serverPort) and the client port (68). */
  readonly serverPort: number;
  readonly clientPort: number;
  readonly mode: 'proxy' | 'full';
  readonly vendorPrefixes: readonly string[];
  readonly ourUserClass: string | undefined;
  readonly policy: DhcpBootPort;
  readonly offerEncoder: ProxyOfferEncoder;
  readonly answered: AnsweredExchanges;
  /** null in proxy mode. */
  readonly full: FullContext | null;
  readonly log: Logger;
  readonly counters: DhcpCounters;
  /** Rate-limited warning (one key per kind of trouble). */
  warn(key: string, msg: string, fields?: Record<string, unknown>): void;
  /** Counts and debug-logs a packet left unanswered on purpose. */
  ignore(why: string, p: DhcpPacket | null, from: Peer): void;
  now(): number;
}
