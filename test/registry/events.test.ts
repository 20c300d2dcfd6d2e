// src/registry/events.ts: append order and ids, paging, refusals, subscribers notified after commit.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../src/log.js';
import type { BootEvent } from '../../src/model/events.js';
import { openRegistry, type SqliteRegistry } from '../../src/registry/sqlite.js';
import { code, ev, fakeClock, MAC, MAC2 } from './helpers.js';

void describe('events', () => {
  let reg: SqliteRegistry;
  beforeEach(() => {
    reg?.close();
    reg = openRegistry(':memory:', { now: fakeClock() });
  });

  void it('appends oldest-first with monotonic ids, pages with afterId/limit', () => {
    reg.machineCreate({ mac: MAC, host: 'a' });
    reg.machineCreate({ mac: MAC2, host: 'b' });
    for (let i = 0; i < 10; i++) reg.eventAppend(i % 2 ? MAC : MAC2, ev('dhcp-offer', { i }));
    const all = reg.eventListAll();
    assert.equal(all.length, 12);
    assert.deepEqual(all.map((e) => e.id), [...all.map((e) => e.id)].sort((a, b) => a - b));
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.time > all[i - 1]!.time);
    // Paging through everything in pages of 5 gives back the same list.
    const paged: BootEvent[] = [];
    let cursor = 0;
    for (;;) {
      const page = reg.eventListAll({ afterId: cursor, limit: 5 });
      if (page.length === 0) break;
      paged.push(...page);
      cursor = page.at(-1)!.id;
    }
    assert.deepEqual(paged, all);
    const mine = reg.eventList(MAC);
    assert.deepEqual(mine, all.filter((e) => e.mac === MAC));
    assert.deepEqual(reg.eventList(MAC, { afterId: mine[2]!.id, limit: 2 }), mine.slice(3, 5));
    assert.deepEqual(reg.eventList(MAC, { limit: 0 }), []);
    assert.throws(() => reg.eventList(MAC, { afterId: -1 }), code('REGISTRY_INVALID'));
    assert.throws(() => reg.eventListAll({ limit: 1.5 }), code('REGISTRY_INVALID'));
  });

  void it('refuses events for unknown machines and bad details', () => {
    assert.throws(() => reg.eventAppend(MAC, ev('tftp', {})), code('REGISTRY_NOT_FOUND'));
    reg.machineCreate({ mac: MAC, host: 'a' });
    assert.throws(() => reg.eventAppend(MAC, ev('', {})), code('REGISTRY_INVALID'));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => reg.eventAppend(MAC, ev('asset', circular)), code('REGISTRY_INVALID'));
    assert.equal(reg.eventList(MAC).length, 1);
  });

  void it('notifies subscribers after commit, survives a throwing listener, unsubscribes', () => {
    const lines: string[] = [];
    reg.close();
    reg = openRegistry(':memory:', { now: fakeClock(), log: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
    const seen: BootEvent[] = [];
    const committedAtCall: boolean[] = [];
    reg.eventSubscribe(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = reg.eventSubscribe((e) => {
      seen.push(e);
      // After commit: the event is already readable (and we are not inside a transaction).
      committedAtCall.push(reg.eventListAll({ afterId: e.id - 1, limit: 1 })[0]?.id === e.id);
    });
    const m = reg.machineCreate({ mac: MAC, host: 'a' });
    reg.machineTransition(MAC, 'booting', 'ipxe');
    const event = reg.eventAppend(MAC, ev('tftp', { file: 'snponly.efi' }));
    assert.equal(m.state, 'registered');
    assert.deepEqual(seen, reg.eventListAll());
    assert.deepEqual(seen.at(-1), event);
    assert.deepEqual(committedAtCall, [true, true, true]);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /event listener threw/);
    // Failed writes notify nobody.
    assert.throws(() => reg.machineTransition(MAC, 'configured', 'x'), code('LIFECYCLE_ILLEGAL'));
    assert.equal(seen.length, 3);
    unsubscribe();
    reg.eventAppend(MAC, ev('tftp', {}));
    assert.equal(seen.length, 3);
  });
});
