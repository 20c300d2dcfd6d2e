// One read transfer on its own socket (its own TID, RFC 1350 §4). Lock-step is windowsize 1 (RFC 7440).
// Contracts (docs/protocol.md §6):
// - Retransmit only when the timer fires (bounded retries, back-off); a duplicate ACK never triggers a send
//   (RFC 1123 §4.2.3.1, sorcerer's apprentice). ACKs for blocks not yet sent are ignored.
// - An ACK for block k below the last block sent acknowledges up to k and restarts the window at k+1 (RFC 7440 §4).
// - Block numbers wrap past 65535 to 0 (EDK2, iPXE and dnsmasq agree); internally blocks are absolute numbers.
// - A file whose size is a multiple of blksize ends with a 0-byte DATA.
// - Packets from another address/port get ERROR 5 (from the server's guard socket) and leave the transfer alone.
// - The final ACK may never come ("some clients never send it", dnsmasq): after the retries on the last block the
//   transfer ends as complete.
// - Until the client ACKs the OACK or DATA 1 its source address is unverified (UDP is spoofable): such a transfer
//   retransmits at most `unconfirmedRetries` times, so one forged RRQ draws at most 1 + that many packets; then it
//   waits silently for the rest of the retry schedule (a late first ACK still starts the data) and ends 'unconfirmed'.
// - Retransmitted bytes (timer rounds and window restarts) are capped per transfer: a client that keeps losing
//   blocks ends with ERROR 0 instead of pulling the file many times over (docs/protocol.md §6.4).

import type dgram from 'node:dgram';
import { ackBlock, decode, encode, ERR, DATA_HEADER, MAX_BLOCK, writeDataHeader, type TftpOption } from './codec.js';
import type { TftpClientRef, TftpTransferReport } from './ports.js';
import type { Source } from './source.js';

export interface TransferTiming {
  initialTimeoutMs: number;
  maxTimeoutMs: number;
  backoff: number;
  retries: number;
  /** Retransmissions before the client's first ACK (then the transfer ends as 'unconfirmed'). */
  unconfirmedRetries: number;
  /** Bytes that may be sent again in total (DATA payloads already sent once); beyond: 'retransmit-cap'. */
  maxRetransmitBytes: number;
}

export interface TransferEnd {
  outcome: 'complete' | 'client-error' | 'timeout' | 'unconfirmed' | 'retransmit-cap' | 'aborted' | 'source-error';
  detail?: string;
  /** The client's ERROR code when outcome is 'client-error'. */
  clientErrorCode?: number;
}

export interface TransferParams {
  /** Connected to the client (address:port): the kernel delivers only the client's packets here and sends take the
   * cached route. Packets from any other TID reach the server's guard socket on the same port (ERROR 5). */
  socket: dgram.Socket;
  address: string;
  port: number;
  name: string;
  source: Source;
  blksize: number;
  windowsize: number;
  /** OACK options; empty means the client asked for none and DATA 1 goes first. */
  oack: TftpOption[];
  timing: TransferTiming;
  onEnd: (t: Transfer, end: TransferEnd) => void;
}

export class Transfer {
  readonly address: string;
  readonly port: number;
  readonly name: string;
  readonly size: number;
  readonly blksize: number;
  readonly windowsize: number;
  readonly startedAt = Date.now();
  /** Absolute number of the last block (short or empty). */
  readonly totalBlocks: number;

  private readonly socket: dgram.Socket;
  private readonly source: Source;
  private readonly timing: TransferTiming;
  private readonly onEnd: TransferParams['onEnd'];
  private readonly slots: Buffer[] = [];
  private readonly oackPacket: Buffer | null;
  private state: 'oack' | 'data' | 'done';
  /** Lowest unacknowledged block. */
  private base = 1;
  /** Next block to (re)send. */
  private next = 1;
  /** Highest block whose bytes are in a slot. */
  private filled = 0;
  private loading = false;
  private retries = 0;
  private curTimeoutMs: number;
  deadline: number;
  /** Timer-driven retransmissions so far (for stats). */
  retransmits = 0;
  /** Payload bytes sent more than once so far. */
  retransmittedBytes = 0;
  /** Highest block sent at least once. */
  private sentMax = 0;
  /** The client has ACKed the OACK or a DATA block: its address is real. */
  confirmed = false;
  /** When the client last acknowledged something new (start time until then). */
  lastProgressAt = this.startedAt;

  constructor(p: TransferParams) {
    this.socket = p.socket;
    this.address = p.address;
    this.port = p.port;
    this.name = p.name;
    this.source = p.source;
    this.size = p.source.size;
    this.blksize = p.blksize;
    this.windowsize = p.windowsize;
    this.timing = p.timing;
    this.onEnd = p.onEnd;
    this.totalBlocks = Math.floor(this.size / this.blksize) + 1;
    const slotCount = Math.min(this.windowsize, this.totalBlocks);
    for (let i = 0; i < slotCount; i++) this.slots.push(Buffer.allocUnsafe(DATA_HEADER + Math.min(this.blksize, this.size)));
    this.oackPacket = p.oack.length > 0 ? encode({ op: 'oack', options: p.oack }) : null;
    this.state = this.oackPacket ? 'oack' : 'data';
    this.curTimeoutMs = this.timing.initialTimeoutMs;
    this.deadline = Date.now() + this.curTimeoutMs;
  }

  /** Bytes acknowledged by the client so far. */
  get bytesAcked(): number {
    return Math.min((this.base - 1) * this.blksize, this.size);
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** Sends the OACK or the first window. */
  begin(): void {
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    if (this.oackPacket) this.socket.send(this.oackPacket);
    else this.pump();
  }

  /** Called by the server's sweep; retransmits or gives up when the deadline has passed. */
  tick(now: number): void {
    if (this.state === 'done' || now < this.deadline) return;
    if (this.silent) {
      // Unverified client, sends used up: wait out the normal schedule without sending (its ACK may still come).
      if (this.retries >= this.timing.retries) {
        this.finish({ outcome: 'unconfirmed', detail: `first ${this.state === 'oack' ? 'OACK' : 'DATA'} not acknowledged after ${this.timing.unconfirmedRetries + 1} tries` });
        return;
      }
      this.retries++;
      this.curTimeoutMs = Math.min(this.curTimeoutMs * this.timing.backoff, this.timing.maxTimeoutMs);
      this.deadline = now + this.curTimeoutMs;
      return;
    }
    if (this.retries >= this.timing.retries) {
      if (this.state === 'data' && this.base === this.totalBlocks && this.next > this.totalBlocks) {
        this.finish({ outcome: 'complete', detail: 'final ACK not received' });
      } else {
        this.sendError(ERR.NOT_DEFINED, 'transfer timed out');
        this.finish({ outcome: 'timeout', detail: `no ACK after ${this.retries} retransmissions` });
      }
      return;
    }
    this.retries++;
    this.retransmits++;
    this.curTimeoutMs = Math.min(this.curTimeoutMs * this.timing.backoff, this.timing.maxTimeoutMs);
    this.deadline = now + this.curTimeoutMs;
    this.sendAgain();
  }

  /** Re-sends what is outstanding: the OACK, or the window from the lowest unacknowledged block. */
  private sendAgain(): void {
    if (this.state === 'oack') this.socket.send(this.oackPacket!);
    else for (let b = this.base; b < this.next && !this.done; b++) this.sendBlock(b);
  }

  /** No ACK yet and no more sends allowed before one comes (the client may never have heard us). */
  get silent(): boolean {
    return !this.confirmed && this.retries >= this.timing.unconfirmedRetries;
  }

  /**
   * The client asked again before confirming anything (its RRQ again): answer it from this transfer's port, as a
   * fresh request would be answered, with a fresh unconfirmed budget. The client may have heard our first answer late
   * and latched onto this port (RFC 1350 §4: the first TID it hears), so a new transfer on another port would go
   * unheard. Only for unconfirmed transfers; one request still draws at most 1 + unconfirmedRetries packets.
   */
  answerAgain(now: number): void {
    if (this.confirmed || this.state === 'done') return;
    this.retries = 0;
    this.retransmits++;
    this.curTimeoutMs = this.timing.initialTimeoutMs;
    this.deadline = now + this.curTimeoutMs;
    this.sendAgain();
  }

  /** Ends the transfer from outside (server stopping, superseded request). */
  abort(detail: string): void {
    this.finish({ outcome: 'aborted', detail });
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.state === 'done') return;
    if (rinfo.port !== this.port || rinfo.address !== this.address) return; // connected: cannot happen
    const block = ackBlock(msg);
    if (block >= 0) {
      this.onAck(block);
      return;
    }
    let pkt;
    try {
      pkt = decode(msg);
    } catch {
      return; // garbage from the client's own port: ignore, the timer covers loss
    }
    if (pkt.op === 'error') {
      this.finish({ outcome: 'client-error', detail: pkt.message, clientErrorCode: pkt.code });
    }
  }

  private onAck(block: number): void {
    if (this.state === 'oack') {
      if (block !== 0) return;
      this.confirmed = true;
      this.state = 'data';
      this.progress();
      this.pump();
      return;
    }
    const last = this.base - 1;
    const delta = (block - (last & MAX_BLOCK)) & MAX_BLOCK;
    if (delta === 0) return; // duplicate ACK: never retransmit on it
    const acked = last + delta;
    if (acked >= this.next) return; // ACK for a block not yet sent
    this.confirmed = true;
    this.base = acked + 1;
    this.progress();
    if (this.base > this.totalBlocks) {
      this.finish({ outcome: 'complete' });
      return;
    }
    if (acked < this.next - 1) this.next = this.base; // partial window: restart at k+1
    this.pump();
  }

  private progress(): void {
    this.lastProgressAt = Date.now();
    this.retries = 0;
    this.curTimeoutMs = this.timing.initialTimeoutMs;
    this.deadline = Date.now() + this.curTimeoutMs;
  }

  private blockLen(abs: number): number {
    return abs < this.totalBlocks ? this.blksize : this.size - (this.totalBlocks - 1) * this.blksize;
  }

  /** Sends blocks next..(base + window - 1), filling slots from the source; pauses while the source loads. */
  private pump(): void {
    const end = Math.min(this.base + this.windowsize - 1, this.totalBlocks);
    while (this.next <= end && this.state === 'data') {
      const abs = this.next;
      if (abs > this.filled) {
        const len = this.blockLen(abs);
        if (this.source.available() < len) {
          if (!this.loading) {
            this.loading = true;
            this.source.load().then(
              () => {
                this.loading = false;
                this.pump();
              },
              (err: unknown) => this.finish({ outcome: 'source-error', detail: err instanceof Error ? err.message : String(err) }),
            );
          }
          return;
        }
        const slot = this.slots[abs % this.slots.length]!;
        writeDataHeader(slot, abs & MAX_BLOCK);
        if (len > 0) this.source.copyTo(slot, DATA_HEADER, len);
        this.filled = abs;
      }
      this.sendBlock(abs);
      this.next++;
    }
  }

  private sendBlock(abs: number): void {
    if (abs <= this.sentMax) {
      this.retransmittedBytes += this.blockLen(abs);
      if (this.retransmittedBytes > this.timing.maxRetransmitBytes) {
        this.sendError(ERR.NOT_DEFINED, 'too many retransmissions');
        this.finish({ outcome: 'retransmit-cap', detail: `${this.retransmittedBytes} bytes retransmitted (cap ${this.timing.maxRetransmitBytes})` });
        return;
      }
    } else {
      this.sentMax = abs;
    }
    const slot = this.slots[abs % this.slots.length]!;
    const len = DATA_HEADER + this.blockLen(abs);
    // A whole slot goes as is (dgram slices a Buffer whenever offset/length are given).
    if (len === slot.length) this.socket.send(slot);
    else this.socket.send(slot, 0, len);
  }

  private sendError(code: number, message: string): void {
    try {
      this.socket.send(encode({ op: 'error', code, message }));
    } catch {
      /* socket already closing */
    }
  }

  private finish(end: TransferEnd): void {
    if (this.state === 'done') return;
    if (end.outcome === 'source-error') this.sendError(ERR.NOT_DEFINED, 'read error');
    this.state = 'done';
    this.onEnd(this, end);
  }
}

/**
 * The report for an ended transfer and how to count it. EDK2 and legacy ROMs probe the size with tsize and abort
 * with ERROR 8 before any data (docs/protocol.md §6.2): normal, reported as 'size-probe'.
 */
export function endReport(
  t: Transfer,
  end: TransferEnd,
  client: TftpClientRef,
  options: Record<string, string>,
  tsizeAsked: boolean,
): { report: TftpTransferReport; kind: 'complete' | 'probe' | 'failed' } {
  const probe = end.outcome === 'client-error' && (end.clientErrorCode === ERR.OPTION_REFUSED || tsizeAsked) && t.bytesAcked === 0;
  const report: TftpTransferReport = {
    client,
    path: t.name,
    options,
    bytes: end.outcome === 'complete' ? t.size : t.bytesAcked,
    durationMs: Date.now() - t.startedAt,
    outcome: probe ? 'size-probe' : end.outcome,
  };
  if (end.detail !== undefined) report.detail = end.detail;
  return { report, kind: end.outcome === 'complete' ? 'complete' : probe ? 'probe' : 'failed' };
}
