// The daemon's event-driven post-install for a NixOS host, wired as app.ts wires it (createPostInstallService): when
// the machine is installed, pxed writes the generated configuration (configuration.nix + host.json, the documents
// the installer got) with the target's hardware-configuration.nix read back over ssh, and runs
// `nixos-rebuild switch --target-host` through the same runner and timeline as Ansible. ssh and nixos-rebuild are
// stand-ins on PATH (no NixOS machine here); they record what they were asked.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonConfigSchema } from '../../../src/config/daemon.js';
import type { Provisioning } from '../../../src/config/provisioning.js';
import { silentLogger } from '../../../src/log.js';
import { MachineOperations } from '../../../src/machines/operations.js';
import type { MachineState } from '../../../src/model/machine.js';
import { POST_INSTALL_EVENT } from '../../../src/orchestrator/ansible/daemon.js';
import { createPostInstallService } from '../../../src/orchestrator/ansible/wiring.js';
import { openRegistry, type SqliteRegistry } from '../../../src/registry/sqlite.js';
import { fakeNixos, KEY, NIX_MAC as MAC, nixHost, scratch, withPath } from './fixtures.js';

async function waitState(reg: SqliteRegistry, mac: string, want: MachineState, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (reg.machineGet(mac)?.state === want) return;
  assert.fail(`${mac} never reached ${want} (is ${reg.machineGet(mac)?.state})`);
}

function rig(binPath: string) {
  const build = scratch('build');
  const state = scratch('state');
  const cfg = daemonConfigSchema.parse({ admin: { token_env: 'X' }, post_install: { hosts: ['nix-01'], build_dir: build, state_dir: state } });
  const host = nixHost();
  const prov = { hostByName: (n: string) => (n === host.name ? host : null), defaults: {} } as unknown as Provisioning;
  const reg = openRegistry(path.join(scratch('db'), 'pxed.db'));
  const svc = createPostInstallService(() => ({ config: cfg, provisioning: prov }), reg, new MachineOperations({ registry: reg, provisioning: prov, installMode: 'once' }), silentLogger, { PATH: withPath(binPath).PATH });
  reg.machineCreate({ mac: MAC, host: 'nix-01', state: 'registered' });
  reg.machineUpdate(MAC, { ip: '192.0.2.60' });
  return { build, state, reg, svc };
}

function install(reg: SqliteRegistry): void {
  reg.machineTransition(MAC, 'booting', 'iPXE install script rendered');
  reg.machineTransition(MAC, 'installed', 'phone-home');
}

const postEvents = (reg: SqliteRegistry) => reg.eventList(MAC).filter((e) => e.kind === POST_INSTALL_EVENT).map((e) => e.detail);

void test('a NixOS host: installed → post-installing → configured by nixos-rebuild with the generated configuration', async () => {
  const r = rig(fakeNixos());
  await r.svc.start();
  install(r.reg);
  await waitState(r.reg, MAC, 'configured');
  const cfgDir = path.join(r.build, 'nix-01', 'nixos');
  assert.equal(
    readFileSync(path.join(r.state, 'rebuild-args'), 'utf8').trim(),
    `switch --target-host ops@192.0.2.60 -I nixos-config=${cfgDir}/configuration.nix --use-remote-sudo`,
  );
  // The installer's documents: the static configuration.nix and host.json from the same generator.
  assert.equal(readFileSync(path.join(cfgDir, 'configuration.nix'), 'utf8'), readFileSync(path.resolve('templates', 'nixos', 'configuration.nix'), 'utf8'));
  const hj = JSON.parse(readFileSync(path.join(cfgDir, 'host.json'), 'utf8')) as { hostname: string; users: Array<{ name: string; keys: string[] }>; packages: string[] };
  assert.equal(hj.hostname, 'nix-01');
  assert.deepEqual(hj.users.map((u) => [u.name, u.keys]), [['ops', [KEY]]]);
  assert.deepEqual(hj.packages, ['htop']);
  assert.match(readFileSync(path.join(cfgDir, 'hardware-configuration.nix'), 'utf8'), /virtio_pci/);
  assert.match(readFileSync(path.join(r.state, 'ssh-args'), 'utf8'), /^-o BatchMode=yes -- ops@192\.0\.2\.60 cat \/etc\/nixos\/hardware-configuration\.nix$/m);
  // Timeline as for Ansible: started, ok with method, log path and duration.
  const ev = postEvents(r.reg);
  assert.deepEqual(ev.map((d) => d.phase), ['started', 'ok']);
  assert.equal(ev[1]!.method, 'nixos-rebuild');
  assert.equal(ev[1]!.logPath, path.join(r.build, 'nix-01', 'logs', 'post.log'));
  assert.match(readFileSync(String(ev[1]!.logPath), 'utf8'), /nixos-rebuild switch --target-host ops@192\.0\.2\.60[\s\S]*activating the configuration/);
  await r.svc.stop();
  r.reg.close();
});

void test('a NixOS host whose hardware configuration cannot be read: failed, saying why, nixos-rebuild never run', async () => {
  const r = rig(fakeNixos(255));
  await r.svc.start();
  install(r.reg);
  await waitState(r.reg, MAC, 'failed');
  const ev = postEvents(r.reg);
  assert.deepEqual(ev.map((d) => d.phase), ['started', 'failed']);
  assert.match(String(ev[1]!.error), /reading \/etc\/nixos\/hardware-configuration\.nix from 192\.0\.2\.60 failed \(exit 255\)/);
  assert.ok(!existsSync(path.join(r.state, 'rebuild-args')));
  await r.svc.stop();
  r.reg.close();
});
