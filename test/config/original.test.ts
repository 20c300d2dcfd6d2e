// The original framework's (provision.py) three example files, unchanged (test/fixtures/config/original/): accepted
// by `pxed config check` through flags and through standard input, with --verbose notes on how the original keys
// were read; the original's defaults; derived MACs; its placeholder keys still refused with file:line:col.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError } from '../../src/errors.js';
import { parseProvisioning, type ConfigIssue } from '../../src/config/load.js';
import { derivedMac } from '../../src/config/merge.js';
import { proxmoxEndpoint, isoUrl, cloudImageUrl, ansibleSshArgs } from '../../src/config/original.js';
import { cliMain, fixtures, repoRoot } from '../helpers/paths.js';

const F = (name: string) => fixtures('config', 'original', name);
const text = (name: string) => readFileSync(F(name), 'utf8');
const FLAGS = ['--defaults', F('defaults.yaml'), '--vm-specs', F('vm_specs.yaml'), '--install-config', F('install_config.yaml')];

function pxed(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cliMain, ...args], { cwd: repoRoot, input, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function parseOriginal(install = text('install_config.yaml'), vms = text('vm_specs.yaml')) {
  return parseProvisioning({ defaults: ['defaults.yaml', text('defaults.yaml')], vmSpecs: ['vm_specs.yaml', vms], installConfig: ['install_config.yaml', install] });
}

void describe('the original example files as they are', () => {
  void it('config check exits 0 with the per-host summary (files given by flags)', () => {
    const r = pxed(['config', 'check', ...FLAGS]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^web-01 +proxmox +iso +ubuntu 24\.04 +02:[0-9a-f:]{14} +192\.168\.30\.10\/24$/m);
    assert.match(r.stdout, /^ci-runner-01 +proxmox +image +ubuntu 24\.04 .* dhcp$/m);
    assert.match(r.stdout, /^baremetal-01 +baremetal +pxe +nixos 24\.05 +52:54:00:aa:bb:cc +192\.168\.10\.50\/24$/m);
    assert.match(r.stdout, /3 hosts OK/);
    assert.doesNotMatch(r.stdout, /notes:/, 'notes only with --verbose');
  });

  void it('config check reads install_config.yaml from standard input (--install-config -)', () => {
    const args = [...FLAGS.slice(0, 4), '--install-config', '-', '--json'];
    const r = pxed(['config', 'check', ...args], text('install_config.yaml'));
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; hosts: Array<{ host: string }> };
    assert.deepEqual(out.hosts.map((h) => h.host), ['web-01', 'ci-runner-01', 'baremetal-01']);
  });

  void it('--verbose says how each original key was read, at its position', () => {
    const r = pxed(['config', 'check', ...FLAGS, '--verbose']);
    assert.equal(r.status, 0, r.stderr);
    const notes = r.stdout.slice(r.stdout.indexOf('notes:'));
    for (const re of [
      /defaults\.yaml:1:1: terraform_backend: passed to Terraform as the backend block/,
      /defaults\.yaml:4:3: image_catalog\.ubuntu_iso_url: the ISO attached/,
      /defaults\.yaml:9:3: proxmox_provider\.pm_api_url: read as the bpg provider endpoint https:\/\/proxmox\.example:8006\//,
      /defaults\.yaml:14:3: ansible_defaults\.ssh_common_args: read as ansible\.ssh_common_args/,
      /defaults\.yaml:17:3: pxe\.tftp_root: read and not used/,
      /vm_specs\.yaml:48:9: vms\[2\]\.netifs\[0\]\.vlan: null read as no VLAN/,
      /install_config\.yaml:20:11: installs\.web-01\.network\.interfaces\[0\]: NetIfSpec object/,
      /web-01 NIC 0: no MAC given; 02:[0-9a-f:]{14} derived from the host name/,
      /baremetal-01: boot_method pxe needs images\.nixos\."24\.05"/,
    ]) {
      assert.match(notes, re);
    }
  });

  void it('the merged model: original defaults, NetIfSpec objects, derived MACs, accessors', () => {
    const p = parseOriginal();
    const web = p.hostByName('web-01')!;
    assert.deepEqual(web.netifs, [{ bridge: 'vmbr0', vlan: 30, mac: derivedMac('web-01', 0), model: 'virtio', mtu: null }]);
    assert.equal(web.mac, derivedMac('web-01', 0));
    assert.equal(p.hostByMac(derivedMac('web-01', 0))?.name, 'web-01');
    const metal = p.hostByName('baremetal-01')!;
    assert.equal(metal.mac, '52:54:00:aa:bb:cc', 'bare-metal MAC from netifs[].mac, never derived');
    assert.equal(metal.netifs[0]!.vlan, null);
    assert.equal(proxmoxEndpoint(p.defaults), 'https://proxmox.example:8006/');
    assert.match(isoUrl(p.defaults, web)!, /ubuntu-24\.04\.1-live-server-amd64\.iso$/);
    assert.match(cloudImageUrl(p.defaults, p.hostByName('ci-runner-01')!)!, /noble-server-cloudimg-amd64\.img$/);
    assert.match(isoUrl(p.defaults, metal)!, /latest-nixos-minimal/);
    assert.equal(ansibleSshArgs(p.defaults), '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null');

    // The original's defaults when keys are left out: proxmox, iso, 2 CPUs, 4096 MB, one 50 GB scsi disk.
    const bare = parseOriginal(
      text('install_config.yaml'),
      text('vm_specs.yaml').replace(/ {2}- name: web-01\n(?: {4}.*\n| {6}.*\n| {8}.*\n)*/, '  - name: web-01\n    proxmox: { node: pve1, storage: local-lvm }\n'),
    ).hostByName('web-01')!;
    assert.equal(bare.hypervisor, 'proxmox');
    assert.equal(bare.boot_method, 'iso');
    assert.equal(bare.cpus, 2);
    assert.equal(bare.memory_mb, 4096);
    assert.deepEqual(bare.disks, [{ size_gb: 50, storage: 'local-lvm', type: 'scsi' }]);
    // NIC only described in the install entry (the original's NetIfSpec): becomes the VM's NIC with a derived MAC.
    assert.deepEqual(bare.netifs, [{ bridge: 'vmbr0', vlan: 30, mac: derivedMac('web-01', 0), model: 'virtio', mtu: null }]);
  });

  void it('derived MACs are stable, unicast and locally administered, and differ per host and NIC', () => {
    const m = derivedMac('web-01', 0);
    assert.equal(m, derivedMac('web-01', 0));
    assert.match(m, /^02(:[0-9a-f]{2}){5}$/);
    assert.notEqual(m, derivedMac('web-02', 0));
    assert.notEqual(m, derivedMac('web-01', 1));
  });

  void it("the original's placeholder keys (AAAAC3Nza...) are refused with file:line:col", () => {
    const placeholder = text('install_config.yaml').replace(/AAAAC3NzaC1lZDI1NTE5AAAAIILmBPOixGkAZGsNrK1Zmd\/XorWuLVOvhhj\/efZu9qT9 devops@laptop/, 'AAAAC3Nza... devops@laptop');
    let issues: ConfigIssue[] = [];
    try {
      parseOriginal(placeholder);
      assert.fail('expected CONFIG_INVALID');
    } catch (err) {
      assert.ok(isPxedError(err, 'CONFIG_INVALID'));
      issues = err.details!.issues as ConfigIssue[];
    }
    assert.equal(issues.length, 1);
    assert.equal(`${issues[0]!.file}:${issues[0]!.line}:${issues[0]!.col}`, 'install_config.yaml:11:13');
    assert.equal(issues[0]!.path, 'installs.web-01.users[0].ssh_authorized_keys[0]');
    assert.match(issues[0]!.message, /expected an OpenSSH public key line/);
  });
});
