import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemdNotifier } from '../../src/appliance/sd-notify.js';

void test('sd_notify: silent outside systemd; READY/STOPPING and event-loop watchdog pings for our pid under it', async () => {
  const sent: string[][] = [];
  const outside = systemdNotifier({}, 42, (a) => sent.push(a));
  outside.ready();
  outside.startWatchdog()();
  assert.equal(sent.length, 0);

  const env = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '42' };
  const n = systemdNotifier(env, 42, (a) => sent.push(a));
  n.ready();
  const stop = n.startWatchdog();
  await new Promise((r) => setTimeout(r, 1100));
  stop();
  n.stopping();
  assert.deepEqual(sent[0], ['--pid=42', '--ready']);
  const pings = sent.filter((a) => a[1] === 'WATCHDOG=1').length;
  assert.ok(pings >= 1 && pings <= 3, `pings: ${pings}`); // every WATCHDOG_USEC/2
  assert.deepEqual(sent.at(-1), ['--pid=42', 'STOPPING=1']);

  // Watchdog asked for another pid (a wrapper): no pings from us.
  const other = systemdNotifier({ ...env, WATCHDOG_PID: '7' }, 42, (a) => sent.push(a));
  const before = sent.length;
  other.startWatchdog()();
  assert.equal(sent.length, before);
});
