// A real run of post_config_common.yml against a throwaway Debian root (debootstrap, cached under test/.cache/)
// over Ansible's chroot connection: the changes land in the root, a second run changes nothing, and nothing
// touches this machine (its host name stays, no process is left running inside the root).
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hostPaths, runPostInstall, type PostInstallOutcome } from '../../../src/orchestrator/ansible/stage.js';
import { debianRoot, removeRoot, throwawayRoot } from '../../helpers/debootstrap.js';
import { KEY, scratch, webHost } from './fixtures.js';

let root = '';
const build = scratch('build');
const state = scratch('state');
const hostnameBefore = os.hostname();

before(async () => {
  const base = await debianRoot();
  if (base.builtMs !== null) process.stderr.write(`debootstrap cache built in ${(base.builtMs / 1000).toFixed(1)} s\n`);
  root = await throwawayRoot(base);
});
after(async () => {
  if (root !== '') await removeRoot(root);
});

/** PIDs whose root directory is inside `dir` (a daemon started from the chroot would show up here). */
function processesInside(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const r = readlinkSync(`/proc/${p}/root`);
      if (r === dir || r.startsWith(dir + '/')) out.push(Number(p));
    } catch {
      // gone or not ours to read
    }
  }
  return out;
}

const run = (): Promise<PostInstallOutcome> =>
  runPostInstall(webHost(), { kind: 'chroot', root }, hostPaths(build, 'web-01'), { stateDir: state, playbook: 'playbooks/post_config_common.yml', site: { timezone: 'Europe/Berlin', ntpServers: ['ntp.lab.local'] } });

void test('post_config_common.yml configures the root, then a second run changes nothing', async () => {
  const first = await run();
  assert.equal(first.ok, true, `${first.error ?? ''} (log ${first.logPath})`);
  assert.ok(first.stats !== null && first.stats.changed > 0 && first.stats.failed === 0, JSON.stringify(first.stats));
  process.stderr.write(`first run: ${JSON.stringify(first.stats)} in ${first.durationMs} ms\n`);

  const f = (p: string): string => readFileSync(path.join(root, p), 'utf8');
  assert.equal(f('etc/hostname'), 'web-01\n');
  assert.match(f('etc/hosts'), /^127\.0\.1\.1 web-01\.lab\.local web-01$/m);
  assert.equal(readlinkSync(path.join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin');
  assert.equal(f('etc/timezone'), 'Europe/Berlin\n');
  assert.match(f('etc/chrony/sources.d/pxed.sources'), /^pool ntp\.lab\.local iburst$/m);
  assert.match(f('etc/passwd'), /^devops:x:\d+:\d+::\/home\/devops:\/bin\/bash$/m);
  assert.equal(f('home/devops/.ssh/authorized_keys').trim(), KEY);
  assert.equal(statSync(path.join(root, 'home/devops/.ssh/authorized_keys')).mode & 0o777, 0o600);
  assert.equal(f('etc/sudoers.d/90-pxed-devops'), 'devops ALL=(ALL:ALL) NOPASSWD:ALL\n');
  assert.equal(statSync(path.join(root, 'etc/sudoers.d/90-pxed-devops')).mode & 0o777, 0o440);
  assert.match(f('etc/ssh/sshd_config.d/00-pxed.conf'), /^PasswordAuthentication no$/m);
  assert.ok(lstatSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/chrony.service')).isSymbolicLink());

  assert.equal(statSync(path.join(build, 'web-01', 'ansible', 'vars.yaml')).mode & 0o777, 0o600);
  assert.match(readFileSync(first.logPath, 'utf8'), /"changed": \d+/);

  const second = await run();
  assert.equal(second.ok, true, second.error ?? '');
  assert.equal(second.stats?.changed, 0, JSON.stringify(second.failures));
  process.stderr.write(`second run: ${JSON.stringify(second.stats)} in ${second.durationMs} ms\n`);

  assert.equal(os.hostname(), hostnameBefore, 'the playbook must never rename the machine running the test');
  assert.deepEqual(processesInside(root), [], 'nothing may be started inside the chroot');
});
