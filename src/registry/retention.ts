// Bounded pruning (issue 14 item 3; docs/security.md "Limits"): the discovered-machine cap and event retention by
// count per machine and by age. Each call deletes at most `batch` rows (or the few machines over the cap), so one
// call never holds the write lock for long; callers repeat it until it returns less than a batch.

import { parseMacOrThrow } from '../net/mac.js';
import { invalid } from './checks.js';
import type { SqliteStore } from './store.js';

function positive(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw invalid(`${what} must be a positive integer`);
  return n;
}

/**
 * Keeps at most `keep` discovered (unadopted) machines: the oldest beyond it are deleted with their events and
 * tokens. Returns the MACs removed (usually none or one: it runs after each discovery).
 */
export function machinePruneDiscovered(s: SqliteStore, keep: number): string[] {
  positive(keep, 'keep');
  return s.write('machinePruneDiscovered', null, () => {
    const { n } = s.stmt<[], { n: number }>("SELECT count(*) AS n FROM machines WHERE state = 'discovered'").get()!;
    if (n <= keep) return [];
    const macs = s
      .stmt<[number], { mac: string }>("SELECT mac FROM machines WHERE state = 'discovered' ORDER BY created_at, mac LIMIT ?")
      .all(n - keep)
      .map((r) => r.mac);
    // One nested write per machine, so that each machine's read-cache entry is dropped (store.ts write()).
    for (const mac of macs) s.write('machinePruneDiscovered', mac, () => s.stmt('DELETE FROM machines WHERE mac = ?').run(mac));
    return macs;
  });
}

/** Deletes up to `batch` of the machine's oldest events beyond its newest `keep`; returns how many. */
export function eventPruneMachine(s: SqliteStore, mac: string, keep: number, batch: number): number {
  const m = parseMacOrThrow(mac);
  positive(keep, 'keep');
  positive(batch, 'batch');
  return s.write('eventPruneMachine', null, () =>
    s
      .stmt(
        `DELETE FROM events WHERE id IN (
           SELECT id FROM events WHERE mac = ?
             AND id <= (SELECT id FROM events WHERE mac = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
           ORDER BY id LIMIT ?)`,
      )
      .run(m, m, keep, batch).changes,
  );
}

/**
 * Deletes events older than `before` (ISO-8601) among the `batch` lowest ids; returns how many. Ids grow with
 * time, so the oldest events are the lowest ids and a batch never scans more than `batch` rows.
 */
export function eventPruneBefore(s: SqliteStore, before: string, batch: number): number {
  positive(batch, 'batch');
  if (Number.isNaN(Date.parse(before))) throw invalid('before must be an ISO-8601 time');
  return s.write('eventPruneBefore', null, () =>
    s
      .stmt('DELETE FROM events WHERE id IN (SELECT id FROM (SELECT id, time FROM events ORDER BY id LIMIT ?) WHERE time < ?)')
      .run(batch, before).changes,
  );
}
