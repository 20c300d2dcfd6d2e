// The short fuzz run of `npm test` (seconds): DHCP (:67 and :4011 handler), TFTP (listener and transfer ports) and
// HTTP routes fed mutated real packets/requests and random bytes over the daemon's real services; no crash, hang,
// unexpected error or unhandled rejection, and the services still answer afterwards. `npm run fuzz` is the long run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSession } from './run.js';

void test('short fuzz: DHCP 30 000, TFTP 5 000, HTTP 3 000 inputs without a finding', async (t) => {
  const seed = Number(process.env.PXED_FUZZ_SEED ?? 0x18f022);
  const r = await fuzzSession({ dhcp: 30_000, tftp: 5_000, http: 3_000 }, seed, (s) => t.diagnostic(s));
  assert.deepEqual(r.findings.map((f) => `${f.protocol} #${f.index}: ${f.what.split('\n')[0]} (input: ${f.file})`), []);
});
