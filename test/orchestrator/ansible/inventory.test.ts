// vars.yaml / inventory.yaml: built as objects, JSON on disk, 0600, refused whole on Jinja markers (hostile input).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isPxedError } from '../../../src/errors.js';
import { inventoryObject, writeAnsibleWorkdir } from '../../../src/orchestrator/ansible/inventory.js';
import { assertNoJinja, postInstallVars } from '../../../src/orchestrator/ansible/vars.js';
import { KEY, scratch, webHost } from './fixtures.js';

void test('postInstallVars maps the merged entry to the playbooks\' variables', () => {
  const v = postInstallVars(webHost(), { timezone: 'Europe/Berlin', ntpServers: ['ntp.lab.local'] });
  assert.deepEqual(v, {
    pxed_hostname: 'web-01',
    pxed_domain: 'lab.local',
    pxed_os: 'ubuntu',
    pxed_version: '24.04',
    pxed_timezone: 'Europe/Berlin',
    pxed_ntp_servers: ['ntp.lab.local'],
    pxed_users: [{ username: 'devops', ssh_authorized_keys: [KEY], sudo: true, shell: '/bin/bash', password_hash: '' }],
    pxed_packages: ['jq'],
    pxed_docker: false,
    pxed_nix_services: [],
  });
});

void test('a dotted host name without a domain splits into host and domain', () => {
  const h = webHost();
  const v = postInstallVars({ ...h, install: { ...h.install, network: { ...h.install.network, hostname: 'db.example.org', domain: null } } });
  assert.equal(v.pxed_hostname, 'db');
  assert.equal(v.pxed_domain, 'example.org');
});

void test('Jinja markers anywhere in values or keys are refused with the key path', () => {
  for (const marker of ['{{ lookup("pipe","id") }}', '{% raw %}', '{# x #}']) {
    const h = webHost();
    const hostile = { ...h, install: { ...h.install, users: [{ ...h.install.users[0]!, shell: `/bin/sh${marker}` }] } };
    assert.throws(() => postInstallVars(hostile), (e: unknown) => isPxedError(e, 'ORCH_ANSIBLE_UNSAFE') && /pxed_users\[0\]\.shell/.test(e.message));
  }
  assert.throws(() => assertNoJinja({ ['{{x}}']: 1 }), (e: unknown) => isPxedError(e, 'ORCH_ANSIBLE_UNSAFE'));
  assert.doesNotThrow(() => assertNoJinja({ a: ['{ {', '%}', 'plain {'], b: 3, c: null }));
});

void test('site settings are validated', () => {
  assert.throws(() => postInstallVars(webHost(), { timezone: '../../etc/passwd', ntpServers: [] }), (e: unknown) => isPxedError(e, 'ORCH_ANSIBLE_INVALID'));
  assert.throws(() => postInstallVars(webHost(), { timezone: 'Etc/UTC', ntpServers: ['-oProxyCommand=x'] }), (e: unknown) => isPxedError(e, 'ORCH_ANSIBLE_INVALID'));
});

void test('writeAnsibleWorkdir writes JSON inventory and vars, 0600, under build/<host>/ansible', () => {
  const root = scratch('build');
  const w = writeAnsibleWorkdir(path.join(root, 'web-01', 'ansible'), 'web-01', { kind: 'ssh', address: '192.0.2.10', user: 'devops', sshCommonArgs: '-o StrictHostKeyChecking=no' }, postInstallVars(webHost()));
  assert.equal(w.inventory, path.join(root, 'web-01', 'ansible', 'inventory.yaml'));
  const inv = JSON.parse(readFileSync(w.inventory, 'utf8')) as unknown;
  assert.deepEqual(inv, {
    all: {
      hosts: {
        'web-01': {
          ansible_connection: 'ssh',
          ansible_host: '192.0.2.10',
          ansible_user: 'devops',
          ansible_ssh_common_args: '-o StrictHostKeyChecking=no',
          ansible_python_interpreter: 'auto_silent',
        },
      },
    },
  });
  assert.equal((JSON.parse(readFileSync(w.vars, 'utf8')) as { pxed_hostname: string }).pxed_hostname, 'web-01');
  assert.equal(statSync(w.inventory).mode & 0o777, 0o600);
  assert.equal(statSync(w.vars).mode & 0o777, 0o600);
});

void test('a refused value never half-writes: earlier files stay, no new ones appear', () => {
  const root = scratch('build');
  const conn = { kind: 'ssh', address: '192.0.2.10', user: 'devops' } as const;
  const w = writeAnsibleWorkdir(path.join(root, 'web-01', 'ansible'), 'web-01', conn, postInstallVars(webHost()));
  const before = readFileSync(w.vars, 'utf8');
  const bad = { ...postInstallVars(webHost()), pxed_packages: ['{{ 7*7 }}'] };
  assert.throws(() => writeAnsibleWorkdir(path.join(root, 'web-01', 'ansible'), 'web-01', conn, bad), (e: unknown) => isPxedError(e, 'ORCH_ANSIBLE_UNSAFE'));
  assert.equal(readFileSync(w.vars, 'utf8'), before);
  assert.throws(() => writeAnsibleWorkdir(path.join(root, 'db-01', 'ansible'), 'db-01', { ...conn, sshCommonArgs: '{{ x }}' }, postInstallVars(webHost())), (e: unknown) => isPxedError(e, 'ORCH_ANSIBLE_UNSAFE'));
  assert.equal(existsSync(path.join(root, 'db-01')), false);
});

void test('hostile connection values are refused', () => {
  const bad: Array<[string, Parameters<typeof inventoryObject>[1]]> = [
    ['web-01', { kind: 'ssh', address: '-oProxyCommand=id', user: 'devops' }],
    ['web-01', { kind: 'ssh', address: '192.0.2.1', user: 'root;id' }],
    ['web 01', { kind: 'ssh', address: '192.0.2.1', user: 'devops' }],
    ['web-01', { kind: 'chroot', root: 'relative/root' }],
  ];
  for (const [h, c] of bad) assert.throws(() => inventoryObject(h, c), (e: unknown) => isPxedError(e, 'ORCH_ANSIBLE_INVALID'));
});
