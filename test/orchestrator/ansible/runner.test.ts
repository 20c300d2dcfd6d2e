// The runner: json-callback parsing, state-dir environment, abort kills the whole process group, bounded queue,
// and the nixos-rebuild argv checked with a fake nixos-rebuild on PATH.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPxedError } from '../../../src/errors.js';
import { nixosRebuildArgv } from '../../../src/orchestrator/ansible/nixos.js';
import { BoundedQueue } from '../../../src/orchestrator/ansible/queue.js';
import { parseJsonCallback, runPlaybook } from '../../../src/orchestrator/ansible/runner.js';
import { hostPaths, runPostInstall } from '../../../src/orchestrator/ansible/stage.js';
import { fakeCommand, scratch, webHost, withPath } from './fixtures.js';

/** True once `pid` no longer runs (gone, or a zombie waiting for its reaper). */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return true;
    }
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return true;
  }
  return false;
}

const SAMPLE = JSON.stringify({
  plays: [{ tasks: [{ task: { name: 'Install chrony' }, hosts: { 'web-01': { failed: true, msg: 'No package matching chrony' } } }] }],
  stats: { 'web-01': { ok: 3, changed: 1, unreachable: 0, failures: 1, skipped: 2, rescued: 0, ignored: 0 } },
});

void test('parseJsonCallback reads stats and failed tasks; garbage gives null', () => {
  const p = parseJsonCallback(`[WARNING]: noise\n${SAMPLE}`);
  assert.deepEqual(p?.stats['web-01'], { ok: 3, changed: 1, unreachable: 0, failed: 1, skipped: 2, rescued: 0, ignored: 0 });
  assert.deepEqual(p?.failures, [{ host: 'web-01', task: 'Install chrony', msg: 'No package matching chrony' }]);
  assert.equal(parseJsonCallback('ERROR! the playbook could not be found'), null);
});

void test('runPlaybook passes argv and a state-dir environment, logs, and reports stats', async () => {
  const bin = fakeCommand('ansible-playbook', `#!/bin/sh\nprintf '%s\\n' "$@" > "$HOME/argv"\nenv > "$HOME/env"\necho 'progress on stderr' >&2\ncat <<'J'\n${SAMPLE}\nJ\nexit 2\n`);
  const state = scratch('state');
  const logPath = path.join(scratch('build'), 'web-01', 'logs', 'post.log');
  const r = await runPlaybook({ playbook: '/p/site.yml', inventory: '/w/inventory.yaml', varsFile: '/w/vars.yaml', logPath, stateDir: state, rolesPath: '/p/roles', env: withPath(bin) });
  assert.equal(r.exitCode, 2);
  assert.equal(r.stats['web-01']?.failed, 1);
  assert.deepEqual(readFileSync(path.join(state, 'home', 'argv'), 'utf8').trim().split('\n'), ['-i', '/w/inventory.yaml', '-e', '@/w/vars.yaml', '/p/site.yml']);
  const env = readFileSync(path.join(state, 'home', 'env'), 'utf8');
  assert.match(env, /^ANSIBLE_STDOUT_CALLBACK=json$/m);
  assert.match(env, new RegExp(`^ANSIBLE_LOCAL_TEMP=${state}/tmp$`, 'm'));
  assert.match(env, new RegExp(`^ANSIBLE_HOME=${state}/ansible$`, 'm'));
  assert.doesNotMatch(env, /PXED_TOKEN|PM_API_TOKEN/);
  const log = readFileSync(logPath, 'utf8');
  assert.match(log, /progress on stderr/);
  assert.match(log, /"failures": ?1/);
});

void test('abort kills ansible-playbook and its children (process group)', async () => {
  const bin = fakeCommand('ansible-playbook', '#!/bin/sh\nsleep 300 &\necho $! > "$HOME/child"\nwait\n');
  const state = scratch('state');
  const ac = new AbortController();
  const p = runPlaybook({ playbook: '/p/x.yml', inventory: '/w/i', varsFile: '/w/v', logPath: path.join(state, 'post.log'), stateDir: state, rolesPath: '/p', env: withPath(bin), signal: ac.signal, killGraceMs: 1000 });
  let child = '';
  for (let i = 0; i < 100 && child === ''; i++) {
    await sleep(50);
    try {
      child = readFileSync(path.join(state, 'home', 'child'), 'utf8').trim();
    } catch {
      // not yet
    }
  }
  assert.notEqual(child, '');
  ac.abort();
  const r = await p;
  assert.equal(r.aborted, true);
  assert.equal(r.exitCode, null);
  assert.equal(await goneWithin(Number(child), 3000), true, `pid ${child} still running`);
});

void test('BoundedQueue never runs more than its limit and keeps order', async () => {
  const q = new BoundedQueue(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    [0, 1, 2, 3, 4].map((i) =>
      q.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await sleep(20);
        running--;
      }),
    ),
  );
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.deepEqual(q.size, { running: 0, waiting: 0 });
  assert.throws(() => new BoundedQueue(0), RangeError);
});

void test('nixos-rebuild argv: switch --target-host, config by -I, remote sudo; hostile values refused', () => {
  assert.deepEqual(nixosRebuildArgv({ address: '192.0.2.50', user: 'ops', configFile: '/var/lib/pxed/build/bm-01/nixos/configuration.nix' }), [
    'switch', '--target-host', 'ops@192.0.2.50', '-I', 'nixos-config=/var/lib/pxed/build/bm-01/nixos/configuration.nix', '--use-remote-sudo',
  ]);
  for (const bad of [
    { address: '-oProxyCommand=id', user: 'ops', configFile: '/c.nix' },
    { address: 'h', user: 'ops --fast', configFile: '/c.nix' },
    { address: 'h', user: 'ops', configFile: 'c.nix' },
    { address: 'h', user: 'ops', configFile: '/a/../etc/c.nix' },
    { address: 'h', user: 'ops', configFile: '/a b.nix' },
    { address: 'h', user: 'ops', configFile: '/$(id).nix' },
  ]) {
    assert.throws(() => nixosRebuildArgv(bad), (e: unknown) => isPxedError(e, 'ORCH_NIXOS_INVALID'), JSON.stringify(bad));
  }
});

void test('a NixOS host runs nixos-rebuild (fake on PATH) with the argv, NIX_SSHOPTS and a state-dir HOME', async () => {
  const bin = fakeCommand('nixos-rebuild', '#!/bin/sh\nprintf "%s\\n" "$@" > "$HOME/argv"\necho "NIX_SSHOPTS=$NIX_SSHOPTS" >> "$HOME/argv"\necho building\nexit 0\n');
  const h = webHost();
  const host = { ...h, name: 'bm-01', install: { ...h.install, os: 'nixos' as const } };
  const state = scratch('state');
  const build = scratch('build');
  const out = await runPostInstall(
    host,
    { kind: 'ssh', address: '192.0.2.50', user: 'ops', sshCommonArgs: '-o StrictHostKeyChecking=no' },
    hostPaths(build, 'bm-01'),
    { stateDir: state, env: withPath(bin), nixosConfig: () => '/srv/pxed/bm-01/configuration.nix' },
  );
  assert.equal(out.ok, true, out.error ?? '');
  assert.equal(out.method, 'nixos-rebuild');
  const argv = readFileSync(path.join(state, 'home', 'argv'), 'utf8').trim().split('\n');
  assert.deepEqual(argv, ['switch', '--target-host', 'ops@192.0.2.50', '-I', 'nixos-config=/srv/pxed/bm-01/configuration.nix', '--use-remote-sudo', 'NIX_SSHOPTS=-o StrictHostKeyChecking=no']);
  assert.match(readFileSync(out.logPath, 'utf8'), /building/);
  const failing = fakeCommand('nixos-rebuild', '#!/bin/sh\nexit 1\n');
  const bad = await runPostInstall(host, { kind: 'ssh', address: '192.0.2.50', user: 'ops' }, hostPaths(build, 'bm-01'), { stateDir: state, env: withPath(failing), nixosConfig: () => '/c.nix' });
  assert.equal(bad.ok, false);
  assert.equal(bad.error, 'nixos-rebuild exited 1');
});
