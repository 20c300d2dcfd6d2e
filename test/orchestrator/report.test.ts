// Status lines (TTY: redrawn in place; otherwise timestamped), the summary table, and the bounded fan-out.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statusBoard, summaryTable } from '../../src/orchestrator/report.js';
import { mapBounded } from '../../src/orchestrator/pipeline.js';
import type { HostSummaryRow } from '../../src/orchestrator/types.js';

void describe('status board', () => {
  void it('non-TTY: one timestamped line per change', () => {
    const out: string[] = [];
    const b = statusBoard(['web-01', 'db'], (t) => out.push(t), false, () => Date.parse('2026-12-03T00:00:00Z'));
    b.update('db', 'infra', 'terraform plan');
    b.stop();
    assert.deepEqual(out, ['2026-12-03T00:00:00.000Z db     infra terraform plan\n']);
  });

  void it('TTY: one line per host, redrawn in place (cursor up, clear line)', () => {
    const out: string[] = [];
    let now = 0;
    const b = statusBoard(['web-01', 'db'], (t) => out.push(t), true, () => now);
    b.update('web-01', 'infra', 'terraform init');
    now = 2500;
    b.update('web-01', 'pxe', 'registered');
    b.stop();
    assert.equal(out[0]!.split('\n').length - 1, 2, 'two lines: one per host');
    assert.ok(out[1]!.startsWith('\x1b[2A'), 'moves up over the previous lines');
    assert.match(out[1]!, /web-01 {2}pxe {4}\s+2\.5s {2}registered/);
    assert.match(out[1]!, /db {6}wait/);
  });
});

void describe('summary', () => {
  void it('a row per host, failures with their details, the count', () => {
    const row = (over: Partial<HostSummaryRow>): HostSummaryRow => ({
      host: 'web-01', stagesDone: ['infra', 'pxe', 'os'], result: 'ok', failedStage: null, error: null, durationMs: 61_000, state: 'installed', ansible: null, ip: '192.0.2.10', ssh: 'ssh ops@192.0.2.10', log: '/b/web-01/logs/os.log', ...over,
    });
    const t = summaryTable([
      row({ stagesDone: ['infra', 'pxe', 'os', 'post'], state: 'configured', ansible: { ok: 12, changed: 3, unreachable: 0, failed: 0, skipped: 2 } }),
      row({ host: 'web-02', stagesDone: [], result: 'failed', failedStage: 'infra', state: null, error: 'web-02: infra failed: terraform apply failed (exit 1)', ip: null, ssh: null }),
    ]);
    assert.match(t, /^HOST +STAGES +RESULT +STATE +DURATION +IP +SSH +LOG$/m);
    assert.match(t, /^web-01 +infra,pxe,os,post +ok +configured +61s +192\.0\.2\.10 +ssh ops@192\.0\.2\.10 +\/b\/web-01\/logs\/os\.log$/m);
    assert.match(t, /^web-01: ansible ok=12 changed=3 unreachable=0 failed=0 skipped=2$/m);
    assert.match(t, /^web-02 +- +failed \(infra\) /m);
    assert.match(t, /^web-02: infra failed: terraform apply failed \(exit 1\)$/m);
    assert.match(t, /^1\/2 hosts ok$/m);
  });
});

void describe('mapBounded', () => {
  void it('never runs more than the limit at once, keeps input order, one failure-free slot per item', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapBounded([...Array(20).keys()], 3, async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, (i * 7) % 5));
      running--;
      return i * 2;
    });
    assert.equal(peak, 3);
    assert.deepEqual(out, [...Array(20).keys()].map((i) => i * 2));
  });
});
