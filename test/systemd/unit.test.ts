// The shipped unit must load cleanly and stay hardened (systemd-analyze's offline exposure score).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

const unit = path.join(repoRoot, 'systemd', 'pxed.service');

void test('systemd-analyze verify accepts the unit', () => {
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  // verify warns about the ExecStart binary only when it is missing; node is on every test machine.
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown (key|section)|Failed to parse/);
});

void test('exposure score is at most 3.0 (OK)', () => {
  const out = execFileSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
  const m = /Overall exposure level for pxed\.service: ([\d.]+)/.exec(out);
  assert.ok(m, out.slice(-500));
  assert.ok(Number(m[1]) <= 3.0, `exposure ${m[1]}`);
});

void test('readiness is Type=notify and only the bind capability is kept', () => {
  const text = readFileSync(unit, 'utf8');
  assert.match(text, /^Type=notify$/m);
  assert.match(text, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
});
