// `pxed service install|uninstall` for real inside a throwaway root: files, idempotence, no config overwrite,
// `systemd-analyze verify --root` clean and `systemd-analyze security --offline=true` exposure ≤ 2.0.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { quoteExecArg } from '../../src/appliance/unit.js';
import { main } from '../../src/cli/cli.js';
import type { CliIO } from '../../src/cli/io.js';

const REPO = path.resolve(import.meta.dirname, '..', '..', '..');

async function pxed(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: async () => '', env: {}, cwd: REPO };
  const code = await main(['service', ...args], io);
  return { code, stdout, stderr };
}

void describe('pxed service', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pxed-appliance17-root-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const unit = path.join(root, 'etc/systemd/system/pxed.service');

  void it('installs the unit, the config from the examples and pxed on PATH', async () => {
    const r = await pxed(['install', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^created {3}\/etc\/pxed\/pxed\.yaml$/m);
    assert.match(r.stdout, /systemctl not run/);
    const text = readFileSync(unit, 'utf8');
    assert.match(text, new RegExp(`^ExecStart=${process.execPath} ${REPO}/dist/src/cli/main\\.js serve --config /etc/pxed/pxed\\.yaml$`, 'm'));
    assert.match(text, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(text, /^Type=notify$/m);
    assert.match(text, /^WatchdogSec=30s$/m);
    assert.match(text, /^StateDirectory=pxed$/m);
    const cfg = readFileSync(path.join(root, 'etc/pxed/pxed.yaml'), 'utf8');
    assert.match(cfg, /^ {2}database: \/var\/lib\/pxed\/pxed\.db /m);
    assert.match(cfg, /^ {2}token_file: \/var\/lib\/pxed\/admin\.token /m);
    for (const f of ['defaults.yaml', 'vm_specs.yaml', 'install_config.yaml']) {
      assert.equal(readFileSync(path.join(root, 'etc/pxed', f), 'utf8'), readFileSync(path.join(REPO, 'configs', f), 'utf8'));
    }
    assert.equal(statSync(unit).mode & 0o777, 0o644);
    assert.equal(readlinkSync(path.join(root, 'usr/local/bin/pxed')), path.join(REPO, 'bin/pxed'));
  });

  void it('is idempotent and never overwrites an edited config', async () => {
    const edited = path.join(root, 'etc/pxed/pxed.yaml');
    writeFileSync(edited, readFileSync(edited, 'utf8') + '# operator edit\n');
    const before = statSync(unit).mtimeMs;
    const r = await pxed(['install', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^(created|updated) /m);
    assert.match(readFileSync(edited, 'utf8'), /# operator edit\n$/);
    assert.equal(statSync(unit).mtimeMs, before);
  });

  void it('passes systemd-analyze verify and scores exposure ≤ 2.0', () => {
    // verify resolves dependencies and ExecStart/ExecReload inside the root: give it the system's target units
    // and stand-ins for node and kill (it checks only that they are executable).
    cpSync('/usr/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'), { recursive: true });
    for (const exe of [process.execPath, '/bin/kill']) {
      mkdirSync(path.join(root, path.dirname(exe)), { recursive: true });
      writeFileSync(path.join(root, exe), '#!/bin/sh\n');
      chmodSync(path.join(root, exe), 0o755);
    }
    const verify = execFileSync('systemd-analyze', ['verify', `--root=${root}`, 'pxed.service'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(verify.trim(), '');
    const sec = execFileSync('systemd-analyze', ['security', '--offline=true', `--root=${root}`, '--no-pager', 'pxed.service'], { encoding: 'utf8' });
    const m = /Overall exposure level for pxed\.service: (\d+\.\d)/.exec(sec);
    assert.ok(m, sec);
    console.log(`systemd-analyze security --offline=true: exposure ${m[1]}`);
    assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} > 2.0`);
  });

  void it('refuses a state directory systemd cannot manage, and hostile paths in ExecStart', async () => {
    const r = await pxed(['install', '--root', root, '--state-dir', '/srv/pxed']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--state-dir must be a directory under \/var\/lib/);
    assert.equal((await pxed(['install', '--purge', '--root', root])).code, 2);
    assert.equal(quoteExecArg('/opt/my pxed/$x%n'), '"/opt/my pxed/$$x%%n"');
    assert.throws(() => quoteExecArg('/opt/a\nExecStartPre=/bin/sh'), /control character/);
  });

  void it('uninstall keeps config and state; --purge removes them', async () => {
    const r = await pxed(['uninstall', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(unit), false);
    assert.equal(existsSync(path.join(root, 'usr/local/bin/pxed')), false);
    assert.equal(existsSync(path.join(root, 'etc/pxed/pxed.yaml')), true);
    mkdirSync(path.join(root, 'var/lib/pxed'), { recursive: true });
    const p = await pxed(['uninstall', '--root', root, '--purge']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(existsSync(path.join(root, 'etc/pxed')), false);
    assert.equal(existsSync(path.join(root, 'var/lib/pxed')), false);
  });
});
