// The ports the DHCP service needs, owned here. The daemon's BootPolicy and the SQLite registry satisfy them
// structurally; app.ts wires them. Nothing in src/dhcp imports src/boot, src/registry or src/config.

import type { BootClient } from '../model/client.js';
import type { Lease } from '../model/lease.js';
import type { UefiStrategy } from '../model/machine.js';

/** UEFI PXE anchor strategies on :67: model/machine.ts says what each does. */
export type { UefiStrategy };

/**
 * 'proxy-ack' is a :67 REQUEST naming us in option 54 (ROMs that REQUEST from the proxy they selected, or a Boot
 * Server Discovery broadcast); 'proxy-ack-4011' the same on the boot-server port.
 */
export type DhcpStage = 'proxy-offer' | 'proxy-ack' | 'proxy-ack-4011' | 'dhcp-offer' | 'dhcp-ack';

export interface DhcpBootQuery {
  client: BootClient;
  stage: DhcpStage;
  xid: number;
  /** Our address on the provisioning interface (option 54, siaddr). */
  serverAddress: string;
  /** giaddr when relayed, else null. */
  relayAddress: string | null;
  /** ciaddr when the client already has an address (4011 REQUEST), else null. */
  clientAddress: string | null;
}

export interface DhcpBootAnswer {
  /** Goes into `file` and option 67: a TFTP path (e.g. "undionly.kpxe") or an absolute http:// URL. */
  bootFile: string;
  /** siaddr: the TFTP / 4011 server. */
  nextServer: string;
  /** How the :67 OFFER anchors the boot (see UefiStrategy). Ignored for BIOS and HTTP clients. */
  strategy: UefiStrategy;
}

/**
 * An address the DHCP side saw a MAC use or ask for.
 * - 'ciaddr': the client sent it as its own address in a request pxed answered (:4011 or a :67 REQUEST to us).
 * - 'lease': pxed's own full-DHCP server bound it.
 * - 'request-opt50': option 50 of a REQUEST to the LAN's DHCP server, reported only when it continues an exchange
 *   pxed answered (same MAC and xid as a proxy OFFER we sent). A hint for IP -> MAC attribution: anyone on the LAN
 *   can forge it, so it must never be written into the machine's row.
 */
export interface AddressObservation {
  mac: string;
  ip: string;
  source: 'request-opt50' | 'ciaddr' | 'lease';
}

/** The boot-policy seam DHCP needs. One synchronous call per packet: no promise on the hot path. */
export interface DhcpBootPort {
  /** What this client boots, or null to stay silent. Throwing also means silence (logged, counted). */
  dhcpBoot(query: DhcpBootQuery): DhcpBootAnswer | null;
  /** Learned IP <-> MAC pairs, so TFTP and HTTP requests by IP can be put on the right timeline. */
  dhcpObserved(obs: AddressObservation): void;
}

export type { Lease };

/** Where full DHCP mode keeps its leases (SQLite in the daemon, a Map in tests). Synchronous. */
export interface LeaseStore {
  leaseGet(ip: string): Lease | null;
  leaseForMac(mac: string): Lease | null;
  leaseList(): Lease[];
  leaseUpsert(lease: Lease): void;
  leaseDelete(ip: string): void;
}
