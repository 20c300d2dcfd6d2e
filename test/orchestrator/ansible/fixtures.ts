// Shared fixtures for the post-install tests: a host like the original framework's web-01, scratch dirs, and
// fake commands on PATH (only where the real one cannot run here: nixos-rebuild, a slow ansible-playbook).
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostSpec } from '../../../src/config/provisioning.js';
import { hostSpec } from '../../boot/fixtures.js';

export const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILmBPOixGkAZGsNrK1Zmd/XorWuLVOvhhj/efZu9qT9 devops@laptop';

export function webHost(over: Partial<HostSpec['install']> = {}): HostSpec {
  const h = hostSpec('web-01', 'ubuntu');
  return {
    ...h,
    install: {
      ...h.install,
      packages: ['jq'],
      users: [{ username: 'devops', ssh_authorized_keys: [KEY], sudo: true, shell: '/bin/bash', password_hash: null }],
      network: { ...h.install.network, hostname: 'web-01', domain: 'lab.local' },
      ...over,
    },
  };
}

export function scratch(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `pxed-${prefix}-`));
}

/** Writes an executable `name` into a fresh bin dir; returns the dir (prepend it to PATH). */
export function fakeCommand(name: string, script: string): string {
  const dir = scratch('bin');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return dir;
}

export function withPath(binDir: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
}

export const NIX_MAC = '52:54:00:00:16:01';

/** A NixOS entry with a catalog image and a sudo user (the one nixos-rebuild logs in as). */
export function nixHost(): HostSpec {
  const h = hostSpec('nix-01', 'nixos');
  return {
    ...h,
    mac: NIX_MAC,
    netifs: [{ ...h.netifs[0]!, mac: NIX_MAC }],
    image: { os: 'nixos', version: '24.11', kernel_url: 'nixos/bzImage', initrd_url: 'nixos/initrd', netboot_ipxe_url: 'https://example.invalid/netboot.ipxe' },
    install: { ...h.install, users: [{ username: 'ops', sudo: true, shell: '/bin/bash', password_hash: null, ssh_authorized_keys: [KEY] }], packages: ['htop'] },
  };
}

/** ssh and nixos-rebuild stand-ins: both log their argv beside HOME; ssh prints the target's /etc/nixos files. */
export function fakeNixos(sshExit = 0): string {
  const bin = fakeCommand(
    'ssh',
    `#!/bin/sh
echo "$*" >> "$HOME/../ssh-args"
[ ${sshExit} -eq 0 ] || { echo "ssh: connect to host: No route to host" >&2; exit ${sshExit}; }
case "$*" in
  *hardware-configuration.nix) echo '{ ... }: { boot.initrd.availableKernelModules = [ "virtio_pci" ]; }' ;;
  *pxed-install.json) echo '{"efi": true, "disk": "/dev/vda"}' ;;
esac
`,
  );
  const rebuild = fakeCommand(
    'nixos-rebuild',
    `#!/bin/sh
echo "$*" > "$HOME/../rebuild-args"
cfg=$(echo "$*" | sed -n 's/.*nixos-config=\\([^ ]*\\).*/\\1/p')
d=$(dirname "$cfg")
for f in configuration.nix host.json hardware-configuration.nix pxed-install.json; do [ -f "$d/$f" ] || { echo "missing $f" >&2; exit 3; }; done
echo "building the system configuration..."
echo "activating the configuration..."
`,
  );
  return `${bin}:${rebuild}`;
}
