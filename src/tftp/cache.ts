// In-memory cache of recently served small files (boot loaders: undionly.kpxe, snponly.efi, shim, grub are 0.1–2 MiB
// and every booting machine asks for the same few). A hit costs no open/read/close, and concurrent requests for a
// file not yet cached share one read.
// Contracts:
// - An entry is valid only for the exact file version it was read from: (dev, ino, size, mtime, ctime) of the stat
//   taken for this request must match. Replacing a file (rename: new ino) or rewriting it (mtime/ctime/size) is
//   noticed on the next request; transfers already running keep the bytes they started with.
// - Bounded: files above `maxFileBytes` are never cached; least recently used entries go once `maxBytes` is passed.
// - A file that changes while it is being read is served as read but not cached.

import type { BigIntStats } from 'node:fs';
import fs from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { PxedError } from '../errors.js';

export interface FileCacheLimits {
  /** Total bytes held (0 disables the cache). */
  maxBytes: number;
  /** Largest file cached. */
  maxFileBytes: number;
}

export interface FileCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

interface Entry {
  version: string;
  data: Buffer;
}

/** The file version a stat describes (see the contract above). */
export function fileVersion(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

export class FileCache {
  /** Real path -> entry; Map order is least recently used first. */
  private readonly entries = new Map<string, Entry>();
  /** Reads in flight, by path + version. */
  private readonly loading = new Map<string, Promise<Buffer>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(private readonly limits: FileCacheLimits) {}

  /** Whether a file of this size is cached at all. */
  accepts(size: number): boolean {
    return size <= this.limits.maxFileBytes && size <= this.limits.maxBytes;
  }

  stats(): FileCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  /**
   * The contents of `file` as described by `st` (a stat of the real path taken for this request). Reads the file
   * unless a matching entry exists. Throws when the file is no longer a readable regular file of that size.
   */
  async get(file: string, st: BigIntStats): Promise<Buffer> {
    const version = fileVersion(st);
    const hit = this.entries.get(file);
    if (hit && hit.version === version) {
      this.entries.delete(file);
      this.entries.set(file, hit); // most recently used
      this.hits++;
      return hit.data;
    }
    this.misses++;
    const key = `${file}\0${version}`;
    let p = this.loading.get(key);
    if (!p) {
      p = this.load(file, version).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  private async load(file: string, version: string): Promise<Buffer> {
    const fh = await fs.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    try {
      const before = await fh.stat({ bigint: true });
      if (!before.isFile()) throw new PxedError('TFTP_NOT_A_FILE', 'not a regular file', { file });
      const size = Number(before.size);
      const data = Buffer.allocUnsafeSlow(size);
      for (let off = 0; off < size; ) {
        const { bytesRead } = await fh.read(data, off, size - off, off);
        if (bytesRead === 0) throw new PxedError('TFTP_SOURCE_SHORT', 'file shrank during read', { at: off, size });
        off += bytesRead;
      }
      const after = await fh.stat({ bigint: true });
      // Only the version the request saw, read without interference, becomes an entry.
      if (fileVersion(before) === version && fileVersion(after) === version) this.insert(file, { version, data });
      return data;
    } finally {
      await fh.close();
    }
  }

  private insert(file: string, entry: Entry): void {
    const old = this.entries.get(file);
    if (old) {
      this.entries.delete(file);
      this.bytes -= old.data.length;
    }
    this.entries.set(file, entry);
    this.bytes += entry.data.length;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.limits.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.data.length;
    }
  }
}
