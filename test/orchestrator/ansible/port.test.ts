// The `post` stage port for `pxed provision`: request paths honoured, summary line from the play recap; a NixOS host
// gets its generated configuration applied with nixos-rebuild (stand-ins for ssh and nixos-rebuild on PATH).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Provisioning } from '../../../src/config/provisioning.js';
import { AnsiblePostInstallRunner } from '../../../src/orchestrator/ansible/port.js';
import { fakeCommand, fakeNixos, NIX_MAC, nixHost, scratch, webHost, withPath } from './fixtures.js';

const RECAP = JSON.stringify({ plays: [], stats: { 'web-01': { ok: 12, changed: 3, unreachable: 0, failures: 0, skipped: 2, rescued: 0, ignored: 0 } } });

void test('AnsiblePostInstallRunner writes into the request\'s dir and log and summarises the recap', async () => {
  const bin = fakeCommand('ansible-playbook', `#!/bin/sh\ncat "$2" > "$HOME/inventory"\ncat <<'J'\n${RECAP}\nJ\n`);
  const state = scratch('state');
  const work = scratch('build');
  const dir = path.join(work, 'web-01', 'ansible');
  const logFile = path.join(work, 'web-01', 'logs', 'post.log');
  const prov = { defaults: { ansible: { ssh_common_args: '-o StrictHostKeyChecking=no' } } } as unknown as Provisioning;
  const runner = new AnsiblePostInstallRunner({ stateDir: state });
  const progress: string[] = [];
  const r = await runner.run({ host: webHost(), prov, ip: '192.0.2.10', dir, logFile, env: withPath(bin), signal: new AbortController().signal, progress: (t) => progress.push(t) });
  assert.deepEqual(r, { ok: true, stats: { ok: 12, changed: 3, unreachable: 0, failed: 0, skipped: 2, rescued: 0, ignored: 0 }, exitCode: 0, message: 'ok=12 changed=3 unreachable=0 failed=0 skipped=2' });
  assert.ok(existsSync(path.join(dir, 'vars.yaml')));
  const inv = JSON.parse(readFileSync(path.join(state, 'home', 'inventory'), 'utf8')) as { all: { hosts: Record<string, Record<string, string>> } };
  assert.equal(inv.all.hosts['web-01']?.ansible_user, 'devops');
  assert.equal(inv.all.hosts['web-01']?.ansible_ssh_common_args, '-o StrictHostKeyChecking=no');
  assert.match(readFileSync(logFile, 'utf8'), /ansible-playbook -i /);
  assert.deepEqual(progress, ['ansible-playbook']);
});

void test('a NixOS host through the port: build/<host>/nixos written, nixos-rebuild switch run, no Ansible recap', async () => {
  const state = scratch('state');
  const work = scratch('build');
  const prov = { defaults: {} } as unknown as Provisioning;
  const runner = new AnsiblePostInstallRunner({ stateDir: state });
  const progress: string[] = [];
  const dir = path.join(work, 'nix-01', 'ansible');
  const r = await runner.run({ host: nixHost(), prov, ip: '192.0.2.61', mac: NIX_MAC, dir, logFile: path.join(work, 'nix-01', 'logs', 'post.log'), env: withPath(fakeNixos()), signal: new AbortController().signal, progress: (t) => progress.push(t) });
  assert.deepEqual(r, { ok: true, stats: null, exitCode: 0, message: 'nixos-rebuild ok' });
  assert.deepEqual(progress, ['nixos-rebuild switch']);
  assert.match(readFileSync(path.join(state, 'rebuild-args'), 'utf8'), new RegExp(`^switch --target-host ops@192\\.0\\.2\\.61 -I nixos-config=${path.join(work, 'nix-01', 'nixos')}/configuration\\.nix`));
  assert.ok(existsSync(path.join(work, 'nix-01', 'nixos', 'host.json')));
});
