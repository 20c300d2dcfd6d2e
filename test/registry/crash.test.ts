// The registry survives kill -9 during a burst of writes: after reopening, PRAGMA integrity_check is "ok" and
// every write the child acknowledged (printed after the call returned) is present.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openRegistry } from '../../src/registry/sqlite.js';
import type { BootEventBody } from '../../src/model/events.js';

/** A raw event body for storage tests (kind and detail as the registry stores them). */
const ev = (kind: string, detail: Record<string, unknown> = {}): BootEventBody => ({ kind, detail }) as BootEventBody;

const burstScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'burst.js');

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pxed-crash-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface BurstResult {
  acks: string[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Runs the writer and SIGKILLs it once `killAfter` acknowledgements have arrived (or after `timeoutMs`). */
function burstAndKill(db: string, round: number, killAfter: number, timeoutMs = 15_000): Promise<BurstResult> {
  return new Promise((resolve, reject) => {
    // MAX_WRITES and MAX_MS bound the child by itself should the kill never come.
    const child = spawn(process.execPath, [burstScript, db, String(round), '1000000', '20000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const acks: string[] = [];
    let stderr = '';
    let killed = false;
    const kill = (): void => {
      if (!killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(kill, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop()!; // a partial last line is not an acknowledgement
      acks.push(...lines);
      if (acks.length >= killAfter) kill();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ acks, signal, code, stderr });
    });
  });
}

void it('every acknowledged write survives kill -9, over three rounds on one file', async (t) => {
  const db = path.join(dir, 'crash.db');
  const totals = { acks: 0, found: 0, machines: 0, transitions: 0, events: 0, tokens: 0, leases: 0 };
  for (const [round, killAfter] of [[1, 300], [2, 1500], [3, 4000]] as const) {
    const res = await burstAndKill(db, round, killAfter);
    assert.equal(res.signal, 'SIGKILL', `round ${round}: the writer must die mid-burst (code ${res.code}, stderr ${res.stderr})`);
    assert.ok(res.acks.length >= killAfter, `round ${round}: only ${res.acks.length} acknowledgements`);

    // Raw integrity check first, exactly as an operator would run it.
    const raw = new Database(db);
    try {
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok', `round ${round}: integrity_check`);
      assert.deepEqual(raw.pragma('foreign_key_check'), [], `round ${round}: foreign_key_check`);
    } finally {
      raw.close();
    }

    const reg = openRegistry(db);
    try {
      assert.equal(reg.integrityCheck(), 'ok');
      const leaseSeq = new Map<string, number>();
      for (const line of res.acks) {
        const [kind, a, b, c] = line.split(' ');
        totals.acks++;
        switch (kind) {
          case 'm':
            totals.machines++;
            assert.ok(reg.machineGet(a!), `round ${round}: machine ${a} lost`);
            break;
          case 't':
            totals.transitions++;
            assert.equal(reg.machineGet(a!)?.state, 'booting', `round ${round}: transition of ${a} lost`);
            break;
          case 'e': {
            totals.events++;
            const ev = reg.eventListAll({ afterId: Number(a) - 1, limit: 1 })[0];
            assert.equal(ev?.id, Number(a), `round ${round}: event ${a} lost`);
            assert.equal(ev.mac, b);
            assert.equal(ev.detail.seq, Number(c));
            break;
          }
          case 'k':
            totals.tokens++;
            assert.equal(reg.tokenGet(a!)?.mac, b, `round ${round}: token lost`);
            break;
          case 'l':
            totals.leases++;
            leaseSeq.set(a!, Math.max(leaseSeq.get(a!) ?? 0, Number(b)));
            break;
          default:
            assert.fail(`unexpected acknowledgement ${JSON.stringify(line)}`);
        }
        if (kind !== 'l') totals.found++;
      }
      // A reused lease IP holds the acknowledged write or a later (possibly unacknowledged) one, never an older one.
      for (const [ip, seq] of leaseSeq) {
        const got = Number(reg.leaseGet(ip)?.hostname?.slice(1));
        assert.ok(got >= seq, `round ${round}: lease ${ip} went back from s${seq} to s${got}`);
      }
      totals.found += [...res.acks].filter((l) => l.startsWith('l ')).length;
      t.diagnostic(`round ${round}: killed after ${res.acks.length} acknowledged writes; all present after reopen`);
    } finally {
      reg.close();
    }
  }
  t.diagnostic(`total acknowledged ${totals.acks}, found after reopen ${totals.found}: ${JSON.stringify(totals)}`);
  assert.equal(totals.found, totals.acks);
});

void it('two processes writing one file at once (daemon + CLI) both succeed: IMMEDIATE transactions + busy_timeout', async (t) => {
  const db = path.join(dir, 'shared.db');
  openRegistry(db).close(); // migrate first, so both start on the same schema
  const child = spawn(process.execPath, [burstScript, db, '7', '2000', '15000'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const reg = openRegistry(db);
  let mine = 0;
  try {
    reg.machineCreate({ mac: '02:99:00:00:00:01', host: 'parent' });
    const deadline = Date.now() + 15_000;
    while (child.exitCode === null && Date.now() < deadline) {
      for (let i = 0; i < 50; i++, mine++) reg.eventAppend('02:99:00:00:00:01', ev('asset', { i: mine }));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(await exited, 0, `writer failed: ${stderr}`);
    assert.equal(reg.eventList('02:99:00:00:00:01').length, mine + 1);
    assert.equal(reg.machineList().length, 1 + 400); // the writer creates a machine every 5th write
    assert.equal(reg.integrityCheck(), 'ok');
    t.diagnostic(`parent wrote ${mine} events while the child wrote 2000`);
    assert.ok(mine > 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    reg.close();
  }
});
