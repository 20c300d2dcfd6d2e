// Shared fixtures for the OS-profile tests: the shipped example configs, a fixed server URL and token.
import path from 'node:path';
import { loadProvisioning } from '../../../src/config/load.js';
import type { HostSpec, Provisioning } from '../../../src/config/provisioning.js';
import { installContext, type InstallContext, type OsProfiles } from '../../../src/boot/os-profile.js';
import { createOsProfiles } from '../../../src/boot/os/index.js';
import { fixtures, repoRoot } from '../../helpers/paths.js';

export const SERVER_URL = 'http://192.0.2.1:8080';
export const TOKEN = 'TEST-TOKEN-0123456789abcdef';
export const ASSET_ROOT = fixtures('os', 'assets');
export const EXAMPLE_HOSTS = ['web-01', 'ci-runner-01', 'baremetal-01'] as const;

export async function exampleProvisioning(): Promise<Readonly<Provisioning>> {
  const c = (f: string) => path.join(repoRoot, 'configs', f);
  return loadProvisioning({ defaults: c('defaults.yaml'), vmSpecs: c('vm_specs.yaml'), installConfig: c('install_config.yaml') });
}

export async function profiles(images: Provisioning['defaults']['images']): Promise<OsProfiles> {
  return (await createOsProfiles({ images, assetRoots: [ASSET_ROOT] })).profiles;
}

export function ctxFor(host: HostSpec, token = TOKEN): InstallContext {
  return installContext(SERVER_URL, token, host.mac ?? '52:54:00:00:00:01', host.install.network.hostname);
}

/** A deep, mutable copy of a host with `edit` applied (HostSpecs from the loader are frozen). */
export function variant(host: HostSpec, edit: (h: HostSpec) => void): HostSpec {
  const copy = structuredClone(host) as HostSpec;
  edit(copy);
  return copy;
}
