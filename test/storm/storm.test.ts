// A reduced boot storm against the real daemon: 50 simulated machines (test/storm/machine.ts: BIOS, UEFI with the
// :4011 step, iPXE ROMs; lock-step and windowsize TFTP) power on within 2 s behind a link with 5 % loss both ways
// and 0.5 ms ± 0.25 ms delay (netem, or the C bridge where the kernel has no netem; pxed retransmits TFTP after
// 100 ms, the clients after 150 ms, so that lock-step at 5 % loss fits the test's time), and each goes through the whole
// sequence to its phone-home. Every machine must finish, every byte must match, every machine must end `installed`
// with a complete, ordered timeline. Bounded: 150 s for the rack (about 60 s at a load average of 20 on 2 vCPUs); namespaces and processes removed in `after`.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StormDaemon, writeStormFiles, type StormFiles } from './daemon.js';
import { StormNet, STORM_NET } from './net.js';
import { eventLabel, expectedSteps, missingStep, readRegistry, runRack, stageSummary } from './storm.js';

const MACHINES = 50;
const TFTP_TIMEOUT_MS = 100;
let net: StormNet;
let files: StormFiles;
let daemon: StormDaemon | null = null;

before(async () => {
  files = writeStormFiles(fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-storm-')), MACHINES, { bootFile: 1.5 * 2 ** 20, kernel: 512 * 1024, initrd: 2 ** 20 }, { tftpTimeoutMs: TFTP_TIMEOUT_MS, maxTransfers: 200 });
  net = await StormNet.create(MACHINES, { lossPercent: 5, delayMs: 0.5, jitterMs: 0.25, seed: 18 });
  daemon = await StormDaemon.start(net, files);
  daemon.startSampling(1000);
});

after(async () => {
  await daemon?.stop();
  await net?.destroy();
  // PXED_STORM_KEEP=1 keeps the daemon's config, log and registry for a look after a failure.
  if (files && !process.env.PXED_STORM_KEEP) fs.rmSync(files.dir, { recursive: true, force: true });
});

void test(`${MACHINES} machines, 5 % loss: all installed, every byte identical, every timeline complete and in order`, async (t) => {
  const rack = await runRack(net, {
    machines: MACHINES,
    server: STORM_NET.server,
    router: '10.88.0.1',
    expected: files.expected,
    tftpTimeoutMs: TFTP_TIMEOUT_MS + 50,
    rampMs: 2000,
    deadlineMs: 150_000,
  });
  const link = await net.linkCounters();
  t.diagnostic(`link: ${net.method} ${JSON.stringify(link)}; rack done in ${rack.seconds.toFixed(1)} s`);
  t.diagnostic(stageSummary(rack.results));
  const failed = rack.results.filter((r) => !r.ok);
  assert.deepEqual(failed.map((r) => `${r.mac} ${r.kind}: ${r.error}`), [], 'every machine completes its sequence');
  assert.equal(rack.results.length, MACHINES);
  assert.deepEqual(rack.results.flatMap((r) => r.corrupted), [], 'every file byte-identical');
  if (link) assert.ok(link.dropped > 0, 'the link did drop frames');

  const samples = daemon!.samples;
  t.diagnostic(`daemon RSS max ${Math.max(...samples.map((s) => s.rssMb)).toFixed(0)} MB over ${samples.length} samples`);
  assert.equal(await daemon!.stop(), 0, 'the daemon stops cleanly');
  daemon = null;

  const recorded = readRegistry(files.db, MACHINES);
  for (const r of rack.results) {
    assert.equal(recorded.states[r.mac], 'installed', `${r.mac} ends installed`);
    const labels = recorded.timelines[r.mac]!.map(eventLabel);
    const missing = missingStep(labels, expectedSteps(r.kind));
    assert.equal(missing, null, `${r.mac} (${r.kind}) timeline lacks ${missing} in order: ${labels.join(' ')}`);
    const ids = recorded.timelines[r.mac]!.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `${r.mac} events in id order`);
  }
});
