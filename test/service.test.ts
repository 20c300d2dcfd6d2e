import { it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../src/log.js';
import { ServiceGroup, type Service } from '../src/service.js';

function fake(name: string, log: string[], opts: { failStart?: boolean; stopMs?: number; failStop?: boolean } = {}): Service {
  return {
    name,
    async start() {
      log.push(`start ${name}`);
      if (opts.failStart) throw new Error(`${name} cannot bind`);
      await Promise.resolve();
    },
    async stop() {
      log.push(`stop ${name}`);
      if (opts.failStop) throw new Error(`${name} stuck`);
      await new Promise((res) => setTimeout(res, opts.stopMs ?? 0));
    },
  };
}

void it('starts in order and stops in reverse', async () => {
  const log: string[] = [];
  const g = new ServiceGroup([fake('registry', log), fake('http', log), fake('dhcp', log)], silentLogger);
  assert.deepEqual(g.names, ['registry', 'http', 'dhcp']);
  await g.start();
  assert.equal(await g.stop(), true);
  assert.deepEqual(log, ['start registry', 'start http', 'start dhcp', 'stop dhcp', 'stop http', 'stop registry']);
  assert.equal(await g.stop(), true, 'a second stop has nothing to do');
});

void it('a failing start stops what already started, in reverse, and rethrows', async () => {
  const log: string[] = [];
  const g = new ServiceGroup([fake('registry', log), fake('http', log), fake('tftp', log, { failStart: true }), fake('dhcp', log)], silentLogger);
  await assert.rejects(g.start(), /tftp cannot bind/);
  assert.deepEqual(log, ['start registry', 'start http', 'start tftp', 'stop http', 'stop registry']);
});

void it('a stop past its deadline or failing is reported, and the others still stop', async () => {
  const log: string[] = [];
  const g = new ServiceGroup([fake('registry', log), fake('http', log, { stopMs: 2000 }), fake('dhcp', log, { failStop: true })], silentLogger);
  await g.start();
  const t0 = Date.now();
  assert.equal(await g.stop(50), false);
  assert.ok(Date.now() - t0 < 1000, 'the deadline bounds the wait');
  assert.deepEqual(log.slice(3), ['stop dhcp', 'stop http', 'stop registry']);
});
