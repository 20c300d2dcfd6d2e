// Shared by the registry tests (one file per src/registry module): MACs, a predictable clock, error-code matchers,
// token rows, and a walk to any machine state along legal edges.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { isPxedError, type ErrorCode } from '../../src/errors.js';
import type { BootEventBody } from '../../src/model/events.js';
import type { MACHINE_STATES } from '../../src/model/machine.js';
import type { SqliteRegistry } from '../../src/registry/sqlite.js';
import type { BootToken } from '../../src/registry/types.js';

/** A raw event body for storage tests (kind and detail as the registry stores them). */
export const ev = (kind: string, detail: Record<string, unknown> = {}): BootEventBody => ({ kind, detail }) as BootEventBody;

export const MAC = 'aa:bb:cc:dd:ee:01';
export const MAC2 = 'aa:bb:cc:dd:ee:02';

/** A clock that advances 1 ms per call, so timestamps are distinct and predictable. */
export function fakeClock(start = Date.parse('2026-01-01T00:00:00.000Z')): () => Date {
  let t = start;
  return () => new Date(t++);
}

export function code(c: ErrorCode): (err: unknown) => boolean {
  return (err) => isPxedError(err, c);
}

/** A temporary directory for the calling test file: made before its tests, removed after. */
export function tempDir(prefix: string): () => string {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

export function hash(id: string): string {
  return id.padStart(64, '0').replace(/[^0-9a-f]/g, 'f');
}

export function token(id: string, mac: string): BootToken {
  return { hash: hash(id), mac, bootId: `boot-${id}`, createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T01:00:00.000Z', revokedAt: null };
}

/** Drives a machine from registered to `state` along legal edges. */
export function forceState(reg: SqliteRegistry, mac: string, state: (typeof MACHINE_STATES)[number]): void {
  const routes: Record<string, string[]> = {
    booting: ['booting'],
    installing: ['booting', 'installing'],
    installed: ['booting', 'installing', 'installed'],
    configured: ['booting', 'installing', 'installed', 'configured'],
    'post-installing': ['booting', 'installing', 'installed', 'post-installing'],
    failed: ['booting', 'failed'],
    stalled: ['booting', 'stalled'],
  };
  if (state === 'discovered') {
    // Discovered, but already given a host, so discovered → registered is the table's only question.
    reg.machineDelete(mac);
    reg.machineCreate({ mac, host: 'h', state: 'discovered' });
    return;
  }
  for (const s of routes[state] ?? []) reg.machineTransition(mac, s as never, 'setup');
}
