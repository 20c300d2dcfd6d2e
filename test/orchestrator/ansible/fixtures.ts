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
