// The ports the TFTP service needs, owned here. The daemon's BootPolicy satisfies TftpPolicyPort structurally;
// app.ts wires it. Nothing in src/tftp imports src/boot, src/registry or src/config.

import type { Readable } from 'node:stream';
import type { Source } from './source.js';

export interface TftpClientRef {
  address: string;
  port: number;
}

/** A generated file: a stream of exactly `size` bytes. */
export interface TftpOpenResult {
  stream: Readable;
  size: number;
}

/** One TFTP transfer's outcome, reported when it ends. */
export interface TftpTransferReport {
  client: TftpClientRef;
  path: string;
  options: Record<string, string>;
  bytes: number;
  durationMs: number;
  /**
   * 'complete', 'size-probe' (tsize asked, then ERROR 8: EDK2's normal probe), or why it ended: 'client-error',
   * 'timeout', 'unconfirmed' (first OACK/DATA never ACKed), 'retransmit-cap', 'not-found', 'aborted', ...
   */
  outcome: string;
  detail?: string;
}

/** What the boot policy offers TFTP: dynamic files, and a report per transfer. */
export interface TftpPolicyPort {
  /** A dynamic (generated) file for this client, or null to fall back to the static roots. */
  tftpOpen(path: string, client: TftpClientRef): Promise<TftpOpenResult | null>;
  /** Records the transfer on the timeline of the MAC that last used client.address (or logs it if unknown). */
  tftpTransferred(report: TftpTransferReport): void;
}

/**
 * Opens a confined, normalised name ("ipxe/snponly.efi") for a client: a byte source, or null when this opener has
 * no such file (the next opener is asked). Throws only for a file that exists but cannot be read.
 */
export interface TftpFileOpener {
  open(name: string, client: TftpClientRef): Promise<Source | null>;
}
