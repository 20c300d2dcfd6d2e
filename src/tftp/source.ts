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

/**
 * Positional reads of a file in chunks, one chunk read ahead: while the transfer sends from the current chunk the
 * thread pool fills the next, so a transfer waits on the disk only when the client outruns it.
 */
export class FileSource implements Source {
  private cur: Buffer | null = null;
  private curPos = 0;
  private curLen = 0;
  /** The chunk after `cur`, already read (null while none). */
  private ahead: Buffer | null = null;
  private aheadLen = 0;
  /** A consumed chunk buffer, reused for the next read. */
  private spare: Buffer | null = null;
  private reading: Promise<void> | null = null;
  private failure: unknown = null;
  private filePos = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly chunkSize: number,
  ) {}

  available(): number {
    return this.curLen - this.curPos + this.aheadLen;
  }

  copyTo(target: Buffer, off: number, len: number): void {
    const n = Math.min(len, this.curLen - this.curPos);
    if (n > 0) this.cur!.copy(target, off, this.curPos, this.curPos + n);
    this.curPos += n;
    if (this.curPos === this.curLen && this.ahead) {
      // A block may straddle two chunks: the rest comes from the chunk read ahead, which becomes current.
      const next = this.ahead;
      this.makeCurrent(next, this.aheadLen);
      this.ahead = null;
      this.aheadLen = 0;
      if (n < len) {
        next.copy(target, off + n, 0, len - n);
        this.curPos = len - n;
      }
    }
    this.readAhead();
  }

  async load(): Promise<void> {
    this.readAhead();
    if (this.reading) await this.reading;
    if (this.failure) throw this.failure;
  }

  /** Starts reading the next chunk unless one is being read or already waiting. */
  private readAhead(): void {
    if (this.reading || this.ahead || this.failure || this.filePos >= this.size) return;
    const buf = this.spare ?? Buffer.allocUnsafeSlow(Math.min(this.chunkSize, this.size));
    this.spare = null;
    const want = Math.min(buf.length, this.size - this.filePos);
    this.reading = this.fh.read(buf, 0, want, this.filePos).then(
      ({ bytesRead }) => {
        this.reading = null;
        if (bytesRead === 0) {
          this.failure = new PxedError('TFTP_SOURCE_SHORT', 'file shrank during transfer', { at: this.filePos, size: this.size });
          return;
        }
        this.filePos += bytesRead;
        if (this.curPos === this.curLen) {
          this.makeCurrent(buf, bytesRead);
          this.readAhead();
        } else {
          this.ahead = buf;
          this.aheadLen = bytesRead;
        }
      },
      (err: unknown) => {
        this.reading = null;
        this.failure = err;
      },
    );
  }

  /** `buf` (holding `len` bytes) becomes the chunk sent from; the consumed one is kept for the next read. */
  private makeCurrent(buf: Buffer, len: number): void {
    this.spare = this.cur;
    this.cur = buf;
    this.curPos = 0;
    this.curLen = len;
  }

  async close(): Promise<void> {
    await this.reading;
    await this.fh.close();
  }
}

/** A file's bytes already in memory (the server's file cache). */
export class BufferSource implements Source {
  readonly size: number;
  private pos = 0;

  constructor(private readonly data: Buffer) {
    this.size = data.length;
  }

  available(): number {
    return this.size - this.pos;
  }

  copyTo(target: Buffer, off: number, len: number): void {
    this.data.copy(target, off, this.pos, this.pos + len);
    this.pos += len;
  }

  /** Everything is available from the start. */
  load(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to release: the buffer belongs to the cache. */
  close(): Promise<void> {
    return Promise.resolve();
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
