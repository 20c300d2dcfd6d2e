import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log.js';
import { WatchdogService } from '../../src/boot/watchdog.js';

void test('WatchdogService checks on its interval, survives a failing check, and stops', async () => {
  let calls = 0;
  const svc = new WatchdogService({
    policy: {
      checkWatchdog: () => {
        calls++;
        if (calls === 1) throw new Error('registry busy');
        return [];
      },
    },
    intervalMs: 10,
    logger: silentLogger,
  });
  await svc.start();
  const deadline = Date.now() + 2000;
  while (calls < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  await svc.stop();
  assert.ok(calls >= 3, `checked ${calls} times`);
  const after = calls;
  await new Promise((res) => setTimeout(res, 40));
  assert.equal(calls, after, 'no checks after stop');
  assert.deepEqual(svc.tick(), []);
});
