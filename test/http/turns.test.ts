// The per-turn render budget (src/http/turns.ts): the queue's contract on a fake clock, and, over real sockets through
// the HTTP app, that a burst of new connections is accepted while keep-alive clients keep the server busy (Node 20's
// libuv accepts one connection per event-loop turn: without the budget a turn is one render per busy client long).

import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { buildHttpApp } from '../../src/http/app.js';
import { TurnBudget } from '../../src/http/turns.js';
import { silentLogger } from '../../src/log.js';
import { FakeAdmin, syncScriptPolicy } from './fakes.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void describe('TurnBudget', () => {
  void it('runs jobs at once within the budget, queues the rest in order, at most one job past the budget per turn', async () => {
    let clock = 0;
    const ran: number[] = [];
    const budget = new TurnBudget(1, () => clock);
    const job = (n: number, cost: number) => () => {
      clock += cost;
      ran.push(n);
    };
    budget.run(job(1, 0.6));
    budget.run(job(2, 0.6)); // 0.6 spent < 1: runs, and passes the budget
    budget.run(job(3, 0.1));
    budget.run(job(4, 0.1));
    assert.deepEqual(ran, [1, 2]);
    assert.equal(budget.waiting, 2);
    await turn(); // this turn's budget is spent: nothing more in it
    assert.deepEqual(ran, [1, 2]);
    await turn(); // the next turn runs the waiting jobs
    assert.deepEqual(ran, [1, 2, 3, 4]);
    // New jobs run at once while nothing waits; a turn ends once past the budget; waiting jobs keep their order.
    for (let n = 5; n <= 11; n++) budget.run(job(n, 0.4));
    assert.deepEqual(ran, [1, 2, 3, 4, 5, 6, 7]);
    await turn();
    await turn();
    assert.deepEqual(ran, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await turn();
    assert.deepEqual(ran, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal(budget.waiting, 0);
  });

  void it('a throwing job propagates its error; the accounting and the queue carry on', async () => {
    let clock = 0;
    const ran: string[] = [];
    const budget = new TurnBudget(1, () => clock);
    assert.throws(() =>
      budget.run(() => {
        clock += 2;
        throw new Error('boom');
      }),
    );
    budget.run(() => ran.push('next')); // the throwing job's time counted: this one waits
    assert.deepEqual(ran, []);
    await turn();
    await turn();
    assert.deepEqual(ran, ['next']);
  });

  void it('`around` wraps each turn’s run of queued jobs, and only that', async () => {
    let clock = 0;
    const ran: string[] = [];
    const budget = new TurnBudget(1, () => clock, 512, (runQueued) => {
      ran.push('[');
      runQueued();
      ran.push(']');
    });
    const job = (n: string) => () => {
      clock += 0.4;
      ran.push(n);
    };
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) budget.run(job(n));
    assert.deepEqual(ran, ['a', 'b', 'c']); // at once, outside: a turn ends once past the budget
    await turn(); // the check phase of this turn: its budget is spent, nothing runs and nothing is wrapped
    await turn();
    await turn();
    assert.deepEqual(ran.join(''), 'abc[def]');
    assert.equal(budget.waiting, 0);
  });

  void it('at most maxWaiting jobs wait: past that a job runs at once', async () => {
    let clock = 0;
    const ran: number[] = [];
    const budget = new TurnBudget(1, () => clock, 2);
    const job = (n: number) => () => {
      clock += 2;
      ran.push(n);
    };
    for (let n = 1; n <= 5; n++) budget.run(job(n));
    // 1 runs and spends the budget; 2 and 3 wait; the queue is full, so 4 and 5 run at once.
    assert.deepEqual(ran, [1, 4, 5]);
    assert.equal(budget.waiting, 2);
    for (let i = 0; i < 4; i++) await turn();
    assert.deepEqual(ran, [1, 4, 5, 2, 3]);
    assert.equal(budget.waiting, 0);
  });
});

/** A keep-alive HTTP/1.1 client on a raw socket: sends GET `path`, resolves with each whole response's body. */
class Client {
  private buf = '';
  private waiter: ((body: string) => void) | null = null;
  readonly socket: net.Socket;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.buf += d;
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(this.buf.slice(0, end))?.[1]);
      if (this.buf.length < end + 4 + length) return;
      const body = this.buf.slice(end + 4, end + 4 + length);
      this.buf = this.buf.slice(end + 4 + length);
      const w = this.waiter;
      this.waiter = null;
      w?.(body);
    });
    this.socket.on('error', () => undefined);
  }
  get(path: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`);
    });
  }
}

void describe('script fast path under load, real sockets', () => {
  void it('a burst of new connections is accepted between renders while 24 keep-alive clients keep the server busy', async () => {
    const events: string[] = []; // 'A' accept, 'R' render, in the server's order
    const policy = syncScriptPolicy((req) => {
      const until = performance.now() + 1; // a 1 ms render: more than the whole turn budget
      while (performance.now() < until);
      events.push('R');
      return { contentType: 'text/plain; charset=utf-8', body: `#!ipxe\necho ${req.mac}\n` };
    });
    const app = buildHttpApp({ policy, admin: new FakeAdmin(), assetRoots: [], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true, limits: { perClientConnections: 64 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    app.server.on('connection', () => events.push('A'));
    const port = (app.server.address() as AddressInfo).port;
    const busy: Client[] = [];
    let running = true;
    try {
      // 24 clients in a closed loop, as wrk's connections are; each checks it gets its own answers.
      const loops = Array.from({ length: 24 }, async (_, i) => {
        const c = new Client(port);
        busy.push(c);
        const mac = `52:54:00:18:00:${i.toString(16).padStart(2, '0')}`;
        while (running) assert.equal(await c.get(`/ipxe/${mac}`), `#!ipxe\necho ${mac}\n`);
      });
      const count = (kind: string): number => events.filter((e) => e === kind).length;
      while (count('A') < 24 || count('R') < 24 * 5) await new Promise((r) => setTimeout(r, 5));
      const burstStart = events.length;
      const burst = Array.from({ length: 24 }, () => new Client(port));
      const firsts = await Promise.all(burst.map((c, i) => c.get(`/ipxe/52:54:00:18:01:${i.toString(16).padStart(2, '0')}`)));
      assert.deepEqual(firsts, burst.map((_, i) => `#!ipxe\necho 52:54:00:18:01:${i.toString(16).padStart(2, '0')}\n`));
      running = false;
      // Renders between one accept of the burst and the next: one turn's worth. Without the budget every busy client
      // is answered in each turn (~24 renders between accepts).
      const seq = events.slice(burstStart);
      const accepts = seq.flatMap((e, i) => (e === 'A' ? [i] : []));
      assert.equal(accepts.length, 24);
      const between = accepts.slice(1).map((a, k) => seq.slice(accepts[k]! + 1, a).filter((e) => e === 'R').length);
      assert.ok(Math.max(...between) <= 6, `renders between accepts: ${between.join(' ')}`);
      await Promise.all(loops); // each loop ends after its request in flight is answered
      for (const c of burst) c.socket.destroy();
    } finally {
      running = false;
      for (const c of busy) c.socket.destroy();
      await app.close();
    }
  });

  void it('a request waiting for a later turn whose connection is gone is not rendered', async () => {
    const rendered: string[] = [];
    const serverSockets: net.Socket[] = [];
    const policy = syncScriptPolicy((req) => {
      rendered.push(req.mac);
      const until = performance.now() + 2; // past the budget: the pipelined request behind it waits
      while (performance.now() < until);
      serverSockets[0]?.destroy(); // the client's connection goes while the next request waits
      return { contentType: 'text/plain; charset=utf-8', body: '#!ipxe\n' };
    });
    const app = buildHttpApp({ policy, admin: new FakeAdmin(), assetRoots: [], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true });
    await app.listen({ host: '127.0.0.1', port: 0 });
    app.server.on('connection', (s: net.Socket) => serverSockets.push(s));
    try {
      const c = net.connect((app.server.address() as AddressInfo).port, '127.0.0.1');
      c.on('error', () => undefined);
      const closed = new Promise((resolve) => c.once('close', resolve));
      // Two pipelined requests in one segment: the server reads both in one turn.
      c.write('GET /ipxe/52:54:00:18:02:01 HTTP/1.1\r\nHost: t\r\n\r\nGET /ipxe/52:54:00:18:02:02 HTTP/1.1\r\nHost: t\r\n\r\n');
      await closed;
      for (let i = 0; i < 3; i++) await turn();
      assert.deepEqual(rendered, ['52:54:00:18:02:01']);
    } finally {
      await app.close();
    }
  });

  void it('a client pipelining requests without reading is stopped by backpressure, not queued without limit', async () => {
    let rendered = 0;
    const policy = syncScriptPolicy((req) => {
      const until = performance.now() + 0.05;
      while (performance.now() < until);
      rendered++;
      return { contentType: 'text/plain; charset=utf-8', body: `#!ipxe\necho ${req.mac}\n` };
    });
    const app = buildHttpApp({ policy, admin: new FakeAdmin(), assetRoots: [], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const c = net.connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    c.on('error', () => undefined);
    c.pause(); // never reads an answer
    try {
      await new Promise((resolve) => c.once('connect', resolve));
      const chunk = Buffer.from('GET /ipxe/52:54:00:18:03:01 HTTP/1.1\r\nHost: t\r\n\r\n'.repeat(1000));
      const total = 200;
      let sent = 0;
      const deadline = Date.now() + 4000;
      // Bounded: 200 chunks (9.6 MB) or 4 s, whichever first; a write the server no longer reads never drains.
      while (sent < total && Date.now() < deadline) {
        if (c.write(chunk)) sent++;
        else {
          const drained = await Promise.race([new Promise((r) => c.once('drain', () => r(true))), new Promise((r) => setTimeout(() => r(false), 1000))]);
          sent++;
          if (!drained) break;
        }
      }
      // Before the bound the server read and queued every request (all 200 000, 430 MB of heap in a trial).
      assert.ok(sent < total, `the server read all ${total * 1000} pipelined requests of a client that reads nothing`);
      // What it did read is answered into the unread socket until Node stops reading it: the renders settle.
      let last = -1;
      for (const end = Date.now() + 8000; rendered !== last && Date.now() < end; ) {
        last = rendered;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.equal(rendered, last, 'renders go on for a client whose answers pile up unread');
      assert.ok(rendered < sent * 1000);
    } finally {
      c.destroy();
      await app.close();
    }
  });
});
