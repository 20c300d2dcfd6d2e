// The machine's IP is recorded from the address that fetched its iPXE script (proxy mode has no lease to read it
// from); a non-IPv4 peer address changes nothing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAC, rig } from './fixtures.js';

void test('the iPXE script fetch records the machine IP', () => {
  const r = rig();
  try {
    r.admin.create({ mac: MAC, host: 'lab1' });
    assert.equal(r.registry.machineGet(MAC)?.ip, null);
    r.policy.machineScript({ mac: MAC, query: {}, clientAddress: '10.77.0.51' });
    assert.equal(r.registry.machineGet(MAC)?.ip, '10.77.0.51');
    r.policy.machineScript({ mac: MAC, query: {}, clientAddress: 'fe80::1' });
    assert.equal(r.registry.machineGet(MAC)?.ip, '10.77.0.51');
  } finally {
    r.close();
  }
});
