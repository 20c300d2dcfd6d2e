// The events table: each machine's timeline. Events are written only through insertEvent, inside a write, and reach
// the store's listeners after that write commits.

import { isBootEventKind, type BootEvent, type BootEventBody } from '../model/events.js';
import { parseMacOrThrow } from '../net/mac.js';
import { afterOf, invalid, limitOf, notFound, toJson } from './checks.js';
import { machineRow, rowToEvent, type EventRow } from './rows.js';
import type { SqliteStore } from './store.js';

/** Inside a write: inserts the event at `time` and queues it for the listeners. */
export function insertEvent(s: SqliteStore, mac: string, time: string, body: BootEventBody): BootEvent {
  const json = toJson(body.detail, 'detail');
  const id = Number(s.stmt('INSERT INTO events (mac, time, kind, detail) VALUES (?, ?, ?, ?)').run(mac, time, body.kind, json).lastInsertRowid);
  const event = { id, mac, time, kind: body.kind, detail: JSON.parse(json) as unknown } as BootEvent;
  s.queueEvent(event);
  return event;
}

export function eventAppend(s: SqliteStore, mac: string, event: BootEventBody): BootEvent {
  const m = parseMacOrThrow(mac);
  const kind = (event as { kind?: unknown } | null)?.kind;
  if (!isBootEventKind(kind)) throw invalid(`unknown event kind ${JSON.stringify(kind)}`);
  toJson(event.detail, 'detail');
  return s.write('eventAppend', null, () => {
    if (!machineRow(s, m)) throw notFound(m);
    return insertEvent(s, m, s.stamp(), event);
  });
}

export function eventList(s: SqliteStore, mac: string, opts: { afterId?: number; limit?: number } = {}): BootEvent[] {
  const m = parseMacOrThrow(mac);
  const after = afterOf(opts.afterId);
  const limit = limitOf(opts.limit);
  return s.read('eventList', () =>
    s.stmt<[string, number, number], EventRow>('SELECT * FROM events WHERE mac = ? AND id > ? ORDER BY id LIMIT ?').all(m, after, limit).map(rowToEvent),
  );
}

export function eventListAll(s: SqliteStore, opts: { afterId?: number; limit?: number } = {}): BootEvent[] {
  const after = afterOf(opts.afterId);
  const limit = limitOf(opts.limit);
  return s.read('eventListAll', () =>
    s.stmt<[number, number], EventRow>('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?').all(after, limit).map(rowToEvent),
  );
}
