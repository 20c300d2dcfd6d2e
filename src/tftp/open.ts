// File openers: the static roots with their in-memory cache, the boot policy's generated files, and the chain that
// asks them in order (policy first: a generated file shadows a static one of the same name).

import fs from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { FileCache } from './cache.js';
import { confine } from './confine.js';
import type { TftpClientRef, TftpFileOpener, TftpPolicyPort } from './ports.js';
import { BufferSource, FileSource, StreamSource, type Source } from './source.js';

export interface StaticRootsOptions {
  /** Real paths (fs.realpath) of the roots, tried in order. */
  roots: readonly string[];
  /** Real paths of directories that symlinks inside a root may point into (Debian's ipxe.efi -> /boot). */
  symlinkTargets: readonly string[];
  cache: FileCache;
  /** Bytes per positional read for files the cache does not take. */
  readChunk: number;
}

/** The static roots: a cached copy for small files, positional reads for the rest. */
export class StaticRoots implements TftpFileOpener {
  constructor(private readonly o: StaticRootsOptions) {}

  async open(name: string): Promise<Source | null> {
    const found = await confine(name, this.o.roots, { rootsAreReal: true, symlinkTargets: this.o.symlinkTargets, targetsAreReal: true });
    if (found.file === null) return null;
    if (this.o.cache.accepts(Number(found.stat.size))) return new BufferSource(await this.o.cache.get(found.file, found.stat));
    const fh = await fs.open(found.file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('not a regular file');
      return new FileSource(fh, st.size, this.o.readChunk);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }
}

/** The boot policy's generated files as an opener. */
export function policyOpener(policy: Pick<TftpPolicyPort, 'tftpOpen'>): TftpFileOpener {
  return {
    async open(name: string, client: TftpClientRef): Promise<Source | null> {
      const r = await policy.tftpOpen(name, client);
      return r === null ? null : new StreamSource(r.stream, r.size);
    },
  };
}

/** Asks each opener in order; the first non-null source wins. */
export function firstOf(openers: readonly TftpFileOpener[]): TftpFileOpener {
  return {
    async open(name: string, client: TftpClientRef): Promise<Source | null> {
      for (const o of openers) {
        const s = await o.open(name, client);
        if (s !== null) return s;
      }
      return null;
    },
  };
}
