// src/http/script-fastpath.ts with a policy that offers inOneWrite: the renders a turn runs from its queue (turns.ts)
// write in one registry transaction, and their answers go out only once it has committed. Requests are pipelined in
// one segment on one connection, so the server reads them in one turn and all but the first few wait in the queue.

import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { hashToken } from '../../src/boot/tokens.js';
import { PxedError } from '../../src/errors.js';
import { buildHttpApp } from '../../src/http/app.js';
import type { HttpBootPolicy, HttpDocument, IpxeScriptRequest } from '../../src/http/types.js';
import { silentLogger } from '../../src/log.js';
import { rig, tokenOf } from '../boot/fixtures.js';
import { FakeAdmin, syncScriptPolicy } from './fakes.js';

interface Answer {
  status: number;
  body: string;
}

/** Sends GETs for `paths` pipelined in one write on one connection; the answers, in order. */
async function pipelined(port: number, paths: readonly string[]): Promise<Answer[]> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  let buf = '';
  const answers: Answer[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('data', (chunk: string) => {
        buf += chunk;
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) break;
          const head = buf.slice(0, end);
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length < end + 4 + length) break;
          answers.push({ status: Number(head.slice(9, 12)), body: buf.slice(end + 4, end + 4 + length) });
          buf = buf.slice(end + 4 + length);
        }
        if (answers.length === paths.length) resolve();
      });
      socket.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: t\r\n\r\n`).join(''));
    });
  } finally {
    socket.destroy();
  }
  return answers;
}

const macOf = (i: number): string => `52:54:00:19:00:${i.toString(16).padStart(2, '0')}`;
const MACS = Array.from({ length: 12 }, (_, i) => macOf(i));

/** A script policy whose renders take `ms` each and whose inOneWrite is `inOneWrite`; records which MACs were
 * rendered inside it, and how many per call. */
function batchingPolicy(ms: number, inOneWrite: (fn: () => void) => void): { policy: HttpBootPolicy; inside: Set<string>; batches: number[] } {
  const inside = new Set<string>();
  const batches: number[] = [];
  let current: number | null = null;
  const base = syncScriptPolicy((req: IpxeScriptRequest): HttpDocument => {
    const until = performance.now() + ms;
    while (performance.now() < until);
    if (current !== null) {
      current++;
      inside.add(req.mac);
    }
    return { contentType: 'text/plain; charset=utf-8', body: `#!ipxe\necho ${req.mac}\n` };
  });
  const policy: HttpBootPolicy = {
    ...base,
    inOneWrite: (fn) =>
      inOneWrite(() => {
        current = 0;
        try {
          fn();
        } finally {
          batches.push(current);
          current = null;
        }
      }),
  };
  return { policy, inside, batches };
}

async function serve<T>(policy: HttpBootPolicy, run: (port: number) => Promise<T>): Promise<T> {
  const app = buildHttpApp({ policy, admin: new FakeAdmin(), assetRoots: [], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    return await run((app.server.address() as AddressInfo).port);
  } finally {
    await app.close();
  }
}

void describe('script fast path: one registry transaction per turn of queued renders', () => {
  void it('queued renders run inside inOneWrite, several per call; every request gets its own answer', async () => {
    const { policy, inside, batches } = batchingPolicy(0.1, (fn) => fn());
    const answers = await serve(policy, (port) => pipelined(port, MACS.map((m) => `/ipxe/${m}`)));
    assert.deepEqual(
      answers,
      MACS.map((m) => ({ status: 200, body: `#!ipxe\necho ${m}\n` })),
    );
    assert.ok(inside.size > 0 && inside.size < MACS.length, `rendered inside: ${inside.size} (the first ones run at once)`);
    assert.ok(Math.max(...batches) >= 2, `renders per transaction: ${batches.join(' ')}`);
  });

  void it('a commit that fails turns every answer of its batch into the error answer; the others are sent', async () => {
    const { policy, inside } = batchingPolicy(0.1, (fn) => {
      fn();
      throw new PxedError('REGISTRY_IO', 'disk full at COMMIT');
    });
    const answers = await serve(policy, async (port) => {
      const got = await pipelined(port, MACS.map((m) => `/ipxe/${m}`));
      // The server goes on: the next connection is answered too (its first request runs at once, outside a batch).
      assert.equal((await pipelined(port, ['/ipxe/52:54:00:19:01:01']))[0]?.status, 200);
      return got;
    });
    assert.ok(inside.size > 0);
    answers.forEach((a, i) => {
      if (inside.has(MACS[i]!)) {
        assert.equal(a.status, 500, MACS[i]);
        assert.deepEqual(JSON.parse(a.body), { error: 'HTTP_INTERNAL', message: 'internal error', cause: 'REGISTRY_IO' });
      } else {
        assert.deepEqual(a, { status: 200, body: `#!ipxe\necho ${MACS[i]}\n` });
      }
    });
  });

  void it('a transaction that cannot begin leaves each render to write on its own: every answer is sent', async () => {
    const { policy, inside } = batchingPolicy(0.1, () => {
      throw new PxedError('REGISTRY_IO', 'database is locked');
    });
    const answers = await serve(policy, (port) => pipelined(port, MACS.map((m) => `/ipxe/${m}`)));
    assert.equal(inside.size, 0);
    assert.deepEqual(
      answers,
      MACS.map((m) => ({ status: 200, body: `#!ipxe\necho ${m}\n` })),
    );
  });

  void it('with the daemon’s policy and registry: every batched install render is armed, its token live', async () => {
    const r = rig();
    for (const mac of MACS) r.admin.create({ mac, host: 'lab1', installMode: 'always', force: true });
    let batched = 0;
    const inOneWrite = r.policy.inOneWrite.bind(r.policy);
    r.policy.inOneWrite = (fn) => {
      batched++;
      inOneWrite(fn);
    };
    try {
      const answers = await serve(r.policy, (port) => pipelined(port, MACS.map((m) => `/ipxe/${m}?platform=efi`)));
      assert.ok(batched > 0, 'some renders waited for a later turn');
      const tokens = new Set<string>();
      answers.forEach((a, i) => {
        assert.equal(a.status, 200, a.body);
        const token = tokenOf(a.body);
        tokens.add(token);
        const stored = r.registry.tokenGet(hashToken(token));
        assert.equal(stored?.mac, MACS[i]);
        assert.equal(stored?.revokedAt, null);
        assert.equal(r.registry.machineGet(MACS[i]!)?.state, 'booting');
      });
      assert.equal(tokens.size, MACS.length);
    } finally {
      r.close();
    }
  });
});
