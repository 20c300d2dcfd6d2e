// DhcpService configuration checks that fail before any socket is bound (safe in the root namespace). Everything
// that binds :67/:4011 is tested in namespaces: proxy.test.ts, iface.test.ts, full.test.ts, fuzz-live.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DhcpService, interfaceAddress } from '../../src/dhcp/server.js';
import { MemoryLeaseStore } from '../../src/dhcp/leases.js';
import { isPxedError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { DhcpBootPort } from '../../src/dhcp/ports.js';

const policy: DhcpBootPort = { dhcpBoot: () => null, dhcpObserved: () => undefined };

void test('an interface without IPv4 address is refused with DHCP_NO_INTERFACE', async () => {
  const s = new DhcpService({ interface: 'no-such-if0', policy, log: silentLogger });
  await assert.rejects(s.start(), (e) => isPxedError(e, 'DHCP_NO_INTERFACE'));
  assert.equal(interfaceAddress('no-such-if0'), null);
  assert.equal(interfaceAddress('lo')?.address, '127.0.0.1');
});

void test('neither interface nor address, or full mode without its options: DHCP_CONFIG', async () => {
  await assert.rejects(new DhcpService({ policy, log: silentLogger }).start(), (e) => isPxedError(e, 'DHCP_CONFIG'));
  await assert.rejects(new DhcpService({ address: '10.0.0.1', mode: 'full', policy, log: silentLogger }).start(), (e) => isPxedError(e, 'DHCP_CONFIG'));
});

void test('an address that is not on the named interface is refused', async () => {
  const s = new DhcpService({ interface: 'lo', address: '10.255.255.1', policy, log: silentLogger, full: { poolStart: '10.0.0.1', poolEnd: '10.0.0.2', leases: new MemoryLeaseStore() } });
  await assert.rejects(s.start(), (e) => isPxedError(e, 'DHCP_NO_INTERFACE'));
});

void test('the constructor only assigns; stop() before start() is harmless', async () => {
  const s = new DhcpService({ address: '10.0.0.1', policy, log: silentLogger });
  assert.equal(s.name, 'dhcp');
  assert.deepEqual(s.stats(), { received: 0, malformed: 0, ignored: 0, offers: 0, acks: 0, naks: 0, policyErrors: 0 });
  await s.stop();
});
