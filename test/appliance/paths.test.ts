import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findDaemonConfig } from '../../src/appliance/paths.js';

void test('the CLI takes ./configs/pxed.yaml, else the installed /etc/pxed/pxed.yaml, else none', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-appliance17-paths-'));
  try {
    const system = path.join(dir, 'etc-pxed.yaml');
    const cwd = path.join(dir, 'work');
    mkdirSync(path.join(cwd, 'configs'), { recursive: true });
    assert.equal(findDaemonConfig(cwd, system), null);
    writeFileSync(system, '');
    assert.equal(findDaemonConfig(cwd, system), system);
    writeFileSync(path.join(cwd, 'configs', 'pxed.yaml'), '');
    assert.equal(findDaemonConfig(cwd, system), path.join(cwd, 'configs', 'pxed.yaml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
