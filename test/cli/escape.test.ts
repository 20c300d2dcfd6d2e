// Issue 14 item 7: terminal escapes from the LAN (DHCP option 60, phone-home text) never reach the operator's
// terminal through `pxed machines show|list`; --json stays exact.

import { BootEvents } from '../../src/model/events.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { escapeField, escapeText } from '../../src/cli/escape.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import { cliMain } from '../helpers/paths.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pxed-escape-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MAC = '52:54:00:14:00:07';
const HOSTILE = 'PXEClient\u001b]0;owned\u0007\u001b[2J\u009b31m\r\nfake: line';

const pxed = (args: string[]): Promise<{ stdout: string; code: number }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [cliMain, ...args], { cwd: dir, timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout) =>
      resolve({ stdout, code: err === null ? 0 : Number((err as { code?: number }).code ?? 1) }),
    );
  });

void test('machines show/list escape C0 and C1 controls; --json stays exact', async () => {
  const reg = openRegistry(path.join(dir, 'r.db'));
  reg.machineCreate({ mac: MAC, host: null, state: 'discovered', vendorClass: HOSTILE });
  reg.eventAppend(MAC, BootEvents.phoneHome({ bootId: 'b1', client: '10.0.0.9', description: HOSTILE }));
  reg.close();
  for (const args of [['machines', 'show', MAC, '--events', '5'], ['machines', 'list']]) {
    const r = await pxed([...args, '--db', 'r.db']);
    assert.equal(r.code, 0, r.stdout);
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, args.join(' '));
  }
  const show = await pxed(['machines', 'show', MAC, '--db', 'r.db']);
  assert.match(show.stdout, /vendor class: PXEClient\\x1b\]0;owned\\x07\\x1b\[2J\\x9b31m\\x0d\\x0afake: line\n/);
  const json = await pxed(['machines', 'show', MAC, '--json', '--db', 'r.db']);
  assert.equal((JSON.parse(json.stdout) as { machine: { vendorClass: string } }).machine.vendorClass, HOSTILE);
  assert.equal(escapeText('a\nb\u001b'), 'a\nb\\x1b');
  assert.equal(escapeField('a\tb'), 'a\\x09b');
});
