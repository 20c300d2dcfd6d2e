// The OS profiles (src/boot/os-profile.ts seam) for Ubuntu autoinstall and NixOS. Build them once at startup
// (createOsProfiles, which reads the NixOS templates and the pre-fetched netboot.ipxe copies); rendering is then
// pure. Every render validates its inputs and throws PxedError ARTIFACT_INVALID with details.field on failure.

import type { ImageCatalog } from '../../config/provisioning.js';
import type { OsProfile, OsProfiles } from '../os-profile.js';
import { loadNetbootIpxe, loadNixosTemplates, nixosArtifact, nixosInstall, type NixosOptions } from './nixos.js';
import { ubuntuArtifact, ubuntuInstall, type UbuntuOptions } from './ubuntu.js';
import { compileValidators } from './validate.js';

export { parseNetbootIpxe, loadNetbootIpxe, loadNixosTemplates, type NetbootIpxe, type NixosTemplates } from './nixos.js';
export { compileValidators, validateUserData } from './validate.js';
export { shQuote } from './shell.js';

export function createUbuntuProfile(opts: UbuntuOptions = {}): OsProfile {
  return {
    renderInstall: (host, ctx) => ubuntuInstall(host, ctx, opts),
    renderArtifact: (family, name, host, ctx) => ubuntuArtifact(family, name, host, ctx),
  };
}

export function createNixosProfile(opts: NixosOptions): OsProfile {
  return {
    renderInstall: (host, ctx) => nixosInstall(host, ctx, opts),
    renderArtifact: (family, name, host, ctx) => nixosArtifact(family, name, host, ctx, opts.templates),
  };
}

export interface OsProfilesOptions {
  /** defaults.images (the NixOS versions whose netboot.ipxe is loaded). */
  images: ImageCatalog;
  /** Daemon asset roots; `<root>/nixos/<version>/netboot.ipxe` is looked up in order. */
  assetRoots: readonly string[];
  /** Repository templates/ folder; default: found next to the code. */
  templatesDir?: string;
  /** Extra kernel arguments per OS (console=..., etc.). */
  extraArgs?: { ubuntu?: readonly string[]; nixos?: readonly string[] };
}

/**
 * Builds both profiles (startup work: templates, netboot.ipxe copies, schema compilation). `missingNetboot` lists NixOS catalog
 * versions without a local netboot.ipxe; installing those fails with ARTIFACT_INVALID (worth a startup warning).
 */
export async function createOsProfiles(opts: OsProfilesOptions): Promise<{ profiles: OsProfiles; missingNetboot: string[] }> {
  const templates = loadNixosTemplates(opts.templatesDir);
  compileValidators();
  const { byVersion, missing } = await loadNetbootIpxe(opts.images, opts.assetRoots);
  const profiles: OsProfiles = {
    ubuntu: createUbuntuProfile(opts.extraArgs?.ubuntu !== undefined ? { extraArgs: opts.extraArgs.ubuntu } : {}),
    nixos: createNixosProfile({ netboot: byVersion, templates, ...(opts.extraArgs?.nixos !== undefined ? { extraArgs: opts.extraArgs.nixos } : {}) }),
  };
  return { profiles, missingNetboot: missing };
}
