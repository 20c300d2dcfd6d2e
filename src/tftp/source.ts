// Sequential byte sources for a transfer. A transfer only ever reads forward: blocks that may need retransmitting
// (the unacknowledged window) stay in the transfer's own packet buffers, so a source never rewinds.
// The fast path is synchronous: `available()` says how many bytes can be copied now, `load()` refills.

import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { PxedError } from '../errors.js';

export interface Source {
  readonly size: number;
  /** Bytes that copyTo() can deliver right now without awaiting. */
  available(): number;
  /** Copies `len` (≤ available()) bytes into target[off..]. */
  copyTo(target: Buffer, off: number, len: number): void;
  /** Makes more bytes available (at least one unless the source is exhausted). */
  load(): Promise<void>;
  close(): Promise<void>;
}

/** Positional reads of a file into a per-transfer chunk (one thread-pool round trip per chunk, not per block). */
export class FileSource implements Source {
  private chunk: Buffer | null = null;
  private chunkPos = 0;
  private chunkLen = 0;
  private filePos = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly chunkSize: number,
  ) {}

  available(): number {
    return this.chunkLen - this.chunkPos;
  }

  copyTo(target: Buffer, off: number, len: number): void {
    this.chunk!.copy(target, off, this.chunkPos, this.chunkPos + len);
    this.chunkPos += len;
  }

  async load(): Promise<void> {
    const want = Math.min(this.chunkSize, this.size - this.filePos);
    if (want <= 0) return;
    this.chunk ??= Buffer.allocUnsafe(Math.min(this.chunkSize, Math.max(this.size, 1)));
    // Keep unread bytes (a block may straddle two chunks).
    const left = this.chunkLen - this.chunkPos;
    if (left > 0) this.chunk.copy(this.chunk, 0, this.chunkPos, this.chunkLen);
    const room = Math.min(this.chunk.length - left, this.size - this.filePos);
    const { bytesRead } = await this.fh.read(this.chunk, left, room, this.filePos);
    if (bytesRead === 0) throw new PxedError('TFTP_SOURCE_SHORT', 'file shrank during transfer', { at: this.filePos, size: this.size });
    this.filePos += bytesRead;
    this.chunkPos = 0;
    this.chunkLen = left + bytesRead;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** A policy-provided stream (small generated files). Reads at most `size` bytes; fewer is an error. */
export class StreamSource implements Source {
  private readonly it: AsyncIterator<unknown>;
  private cur: Buffer = Buffer.alloc(0);
  private pos = 0;
  private delivered = 0;

  constructor(
    private readonly stream: Readable,
    readonly size: number,
  ) {
    this.it = stream[Symbol.asyncIterator]();
  }

  available(): number {
    return Math.min(this.cur.length - this.pos, this.size - this.delivered);
  }

  copyTo(target: Buffer, off: number, len: number): void {
    this.cur.copy(target, off, this.pos, this.pos + len);
    this.pos += len;
    this.delivered += len;
  }

  async load(): Promise<void> {
    if (this.delivered >= this.size) return;
    const left = this.cur.subarray(this.pos);
    const r = await this.it.next();
    if (r.done) throw new PxedError('TFTP_SOURCE_SHORT', 'dynamic file ended before its announced size', { delivered: this.delivered, size: this.size });
    const v = r.value;
    const chunk = Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v as Uint8Array);
    this.cur = left.length > 0 ? Buffer.concat([left, chunk]) : chunk;
    this.pos = 0;
  }

  async close(): Promise<void> {
    this.stream.destroy();
    await Promise.resolve();
  }
}
