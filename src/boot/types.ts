// The boot-policy seam. DHCP, TFTP and HTTP ask these questions and nothing else; they never read SQLite or config.
// `null` always means "stay silent for this client" (pixiecore's BootSpec()==nil).

import type { Readable } from 'node:stream';

/** What the firmware is, derived once from options 60/77/93/175 by dhcp/classify.ts. */
export type Firmware =
  | 'bios'
  | 'efi-ia32'
  | 'efi-x64'
  | 'efi-arm32'
  | 'efi-arm64'
  | 'efi-riscv64'
  | 'efi-ia32-http'
  | 'efi-x64-http'
  | 'efi-arm32-http'
  | 'efi-arm64-http'
  | 'efi-riscv64-http'
  | 'unsupported';

export interface BootClient {
  /** Lower-case colon form, e.g. 52:54:00:77:00:10. */
  mac: string;
  /** First known option-93 value (RFC 4578 §2.1, errata 4624: 9 is treated as 7). */
  arch: number;
  firmware: Firmware;
  /** iPXE (option 77 "iPXE" in either encoding, or option 175 present). */
  isIpxe: boolean;
  /** Our own iPXE build (user-class set by our embedded script); implies isIpxe. */
  isOurIpxe: boolean;
  /** Option 60 starts with HTTPClient (UEFI HTTP boot). */
  isHttpClient: boolean;
  /** Option 97 as a lower-case RFC 4122 string, or null when absent/zero/malformed. */
  uuid: string | null;
  /** Option 60 as sent. */
  vendorClass: string | null;
  /** Option 77 entries (RFC 3004 list or iPXE's plain string). */
  userClasses: string[];
}

/**
 * UEFI PXE anchor strategies on :67.
 * - 'binl': no option 43 in the :67 proxy OFFER; EDK2 follows with a REQUEST to :4011 which we ACK with the boot file
 *   (dnsmasq and pixiecore do this; works around pre-2017 EDK2 dropping offers with 43, protocol.md Q1).
 * - 'direct': 43 = {6: 8} ("boot file present, no discovery") plus siaddr/file in the :67 OFFER (smee style, Q24).
 * BIOS PXE ROMs always get 'direct'.
 */
export type UefiStrategy = 'binl' | 'direct';

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

/** An address the DHCP side saw a MAC use or ask for (4011 ciaddr, option 50 in a LAN REQUEST, a lease). */
export interface AddressObservation {
  mac: string;
  ip: string;
  source: 'request-opt50' | 'ciaddr' | 'lease';
}

export interface TftpClientRef {
  address: string;
  port: number;
}

export interface TftpOpenResult {
  stream: Readable;
  size: number;
}

/** One TFTP transfer's outcome, reported by the TFTP server when it ends. */
export interface TftpTransferReport {
  client: TftpClientRef;
  path: string;
  options: Record<string, string>;
  bytes: number;
  durationMs: number;
  /** 'complete', 'size-probe' (tsize asked, then ERROR 8: EDK2's normal probe), or why it ended: 'client-error', 'timeout', 'not-found', 'aborted', ... */
  outcome: string;
  detail?: string;
}

export interface DhcpBootPolicy {
  /** What this client boots, or null to stay silent. Records the offer/ack event on the machine's timeline. */
  dhcpBoot(query: DhcpBootQuery): Promise<DhcpBootAnswer | null>;
  /**
   * Optional synchronous form of dhcpBoot with the same contract (answer, events, errors thrown instead of rejected).
   * When present, the DHCP service calls it instead of dhcpBoot: no promise and no microtask per request.
   */
  dhcpBootSync?(query: DhcpBootQuery): DhcpBootAnswer | null;
  /** Learned IP <-> MAC pairs, so TFTP and HTTP requests by IP can be put on the right timeline. */
  dhcpObserved(obs: AddressObservation): void;
}

export interface TftpBootPolicy {
  /** A dynamic (generated) file for this client, or null to fall back to the static roots. */
  tftpOpen(path: string, client: TftpClientRef): Promise<TftpOpenResult | null>;
  /** Records the transfer on the timeline of the MAC that last used client.address (or logs it if unknown). */
  tftpTransferred(report: TftpTransferReport): void;
}

// ---- HTTP-facing part of the seam (owned by src/boot/policy.ts; src/http only renders what these return) ----

/** A document the policy produced for an HTTP client. */
export interface HttpDocument {
  contentType: string;
  body: string | Buffer;
}

export interface IpxeScriptRequest {
  /** From the URL; the policy validates and normalises it. */
  mac: string;
  /** iPXE settings the bootstrap script passes along (${buildarch}, ${platform}, ${uuid}, ...), unvalidated. */
  query: Record<string, string | undefined>;
  clientAddress: string;
}

/** Artifacts an installer fetches with its per-boot token, e.g. 'user-data', 'meta-data', 'install.sh'. */
export interface TokenArtifactRequest {
  /** 'nocloud' | 'nixos' */
  family: string;
  token: string;
  name: string;
  clientAddress: string;
}

export interface PhoneHomeRequest {
  token: string;
  /** Parsed JSON body: a Subiquity reporting event or {status: 'installed'|'failed', detail?}. */
  body: unknown;
  clientAddress: string;
}

export interface HttpBootPolicy {
  /** GET /boot.ipxe: the bootstrap every iPXE client gets. */
  bootstrapScript(clientAddress: string): HttpDocument;
  /** GET /ipxe/:mac: always a script (install, local boot, discovered menu, or echo+exit for unknown machines). */
  machineScript(req: IpxeScriptRequest): Promise<HttpDocument>;
  /** The same answer computed synchronously (the daemon's policy has it; the /ipxe fast path then needs no promise). */
  machineScriptSync?(req: IpxeScriptRequest): HttpDocument;
  /** Token routes; null = 404 (unknown/expired token or unknown artifact; an expired known token is recorded). */
  tokenArtifact(req: TokenArtifactRequest): Promise<HttpDocument | null>;
  /**
   * Optional cheap check run before a phone-home body is read: false = answer 404 without reading it. Must not write
   * (no timeline event): it sees hostile traffic first.
   */
  tokenKnown?(token: string, clientAddress: string): boolean;
  /** Phone-home; null = 404 as above. Idempotent. */
  phoneHome(req: PhoneHomeRequest): Promise<{ state: string } | null>;
  /** An asset (kernel/initrd/...) was fully or partly served to clientAddress; recorded on the timeline. */
  assetServed(clientAddress: string, path: string, bytes: number, status: number): void;
}
