// Every playbook passes ansible-playbook --syntax-check, and playbooks and roles are ansible-lint clean
// (Debian's ansible-lint, production profile).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { repoRoot } from '../../helpers/paths.js';
import { scratch } from './fixtures.js';

const ansibleDir = path.join(repoRoot, 'ansible');
const env = { ANSIBLE_ROLES_PATH: path.join(ansibleDir, 'roles'), HOME: scratch('home'), ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' };

void test('every playbook passes ansible-playbook --syntax-check', async () => {
  const books = readdirSync(path.join(ansibleDir, 'playbooks')).filter((f) => f.endsWith('.yml'));
  assert.ok(books.includes('post_config_common.yml') && books.includes('site.yml'), books.join(','));
  for (const b of books) {
    const r = await execa('ansible-playbook', ['--syntax-check', '-i', 'localhost,', path.join('playbooks', b)], { cwd: ansibleDir, env, reject: false });
    assert.equal(r.exitCode, 0, `${b}: ${r.stderr}`);
  }
});

void test('the original role names exist, each with tasks and meta', () => {
  const roles = readdirSync(path.join(ansibleDir, 'roles')).sort();
  assert.deepEqual(roles, ['nixos_minimal', 'nixos_services', 'ubuntu_docker', 'ubuntu_minimal']);
  for (const r of roles) {
    const files = readdirSync(path.join(ansibleDir, 'roles', r));
    assert.ok(files.includes('tasks') && files.includes('meta'), `${r}: ${files.join(',')}`);
  }
});

void test('ansible-lint (production profile) passes on playbooks and roles', async () => {
  const r = await execa('ansible-lint', ['--offline', '-p', '--profile', 'production', 'playbooks', 'roles'], { cwd: ansibleDir, env, reject: false });
  assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr + r.stdout, /Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
});
