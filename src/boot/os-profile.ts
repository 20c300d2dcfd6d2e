// The seam between the boot policy (src/boot/policy.ts) and the OS profiles (src/boot/os/: Ubuntu autoinstall,
// NixOS). The policy decides *whether* a machine installs and mints its per-boot token; a profile decides *what*
// the installer boots (kernel, initrds, command line) and renders the documents the installer fetches with its
// token. Profiles are pure: no I/O, no registry, no clock; same inputs, same output.
//
// `os: custom` is handled by the policy itself (src/boot/custom.ts) and needs no OsProfile.

import type { HostSpec } from '../config/provisioning.js';
import type { HttpDocument } from './types.js';

/** Everything a profile may put into what it renders for one boot. All URLs are absolute (server IP literal). */
export interface InstallContext {
  /** `http://<server>:<port>` without a trailing slash. */
  serverUrl: string;
  /**
   * The per-boot token (URL-safe base64, ≥128 bits). In previews (REST `render`) it is the placeholder
   * PREVIEW_TOKEN and is not live.
   */
  token: string;
  /** Lower-case colon form. */
  mac: string;
  /** The host's RFC 1123 host name (host.install.network.hostname). */
  hostname: string;
  /**
   * `<serverUrl>/api/v1/boot/<token>/events`: POST one JSON body per event. Accepts Subiquity reporting-webhook
   * events and `{"status": "installed"|"failed", "detail": "..."}`.
   */
  phoneHomeUrl: string;
  /** Same endpoint as phoneHomeUrl; named for Subiquity's `reporting: {type: webhook, endpoint}`. */
  eventsUrl: string;
  /** `<serverUrl>/nocloud/<token>/` (trailing slash: cloud-init appends user-data / meta-data). */
  nocloudUrl: string;
  /** `<serverUrl>/nixos/<token>/` (trailing slash). */
  nixosUrl: string;
  /**
   * iPXE's ${buildarch} as reported by the bootstrap ('x86_64', 'i386', 'arm64', ...), when known; lets a profile
   * pick `Image` over `bzImage` on arm64. Absent in artifact requests and previews.
   */
  buildarch?: string;
}

/**
 * What iPXE loads for an install. `kernel` and each initrd are an asset-relative path (served from
 * `<serverUrl>/assets/<path>`) or an absolute http(s) URL; the policy makes them absolute. `cmdline` is the kernel
 * command line; the policy splits it on whitespace, prepends `initrd=<basename>` for each initrd that is not
 * already named (the EFI stub needs it) and validates every argument with src/boot/ipxe.ts before it lands in the
 * script. An argument that fails (`${`, quotes, `#`, control characters, ...) makes the rendering fail with
 * BOOT_SCRIPT_INVALID, naming the argument.
 */
export interface InstallBoot {
  kernel: string;
  initrds: string[];
  cmdline: string;
}

/**
 * Installer-facing document families and names. `family` is the first path segment of the token route
 * (`/nocloud/:token/:name`, `/nixos/:token/:name`).
 */
export type ArtifactFamily = 'nocloud' | 'nixos';

export interface OsProfile {
  /** Throws PxedError ARTIFACT_INVALID (details.field names the bad field) when the host cannot be installed. */
  renderInstall(host: HostSpec, ctx: InstallContext): InstallBoot;
  /**
   * A document the installer fetches with its token, or null when this profile has no such artifact (→ 404).
   * Throws PxedError ARTIFACT_INVALID (details.field) when the rendered document fails validation.
   */
  renderArtifact(family: string, name: string, host: HostSpec, ctx: InstallContext): HttpDocument | null;
}

/** Profiles by `host.install.os` ('ubuntu', 'nixos'). A missing entry makes installs of that OS fail clearly. */
export type OsProfiles = Readonly<Partial<Record<string, OsProfile>>>;

/** Token text used in previews; never a live token (it is not base64url of 16+ random bytes and never stored). */
export const PREVIEW_TOKEN = 'PREVIEW-TOKEN-NOT-LIVE';

/** Builds the context for one boot (or a preview with PREVIEW_TOKEN). */
export function installContext(serverUrl: string, token: string, mac: string, hostname: string): InstallContext {
  const phoneHomeUrl = `${serverUrl}/api/v1/boot/${token}/events`;
  return {
    serverUrl,
    token,
    mac,
    hostname,
    phoneHomeUrl,
    eventsUrl: phoneHomeUrl,
    nocloudUrl: `${serverUrl}/nocloud/${token}/`,
    nixosUrl: `${serverUrl}/nixos/${token}/`,
  };
}
