// Can a host actually boot? Renders every artifact of the host through the one rendering path (boot/render.ts
// ScriptRenderer.preview, as `pxed render` does) and checks every asset the install boot loads from pxed itself:
// kernel, initrds, and URLs under <serverUrl>/assets/ in the command line (Ubuntu's url= ISO). Offline: catalog
// URLs on other servers are not contacted.

import type { InstallBoot } from '../boot/os-profile.js';
import { PREVIEW_ARTIFACT_NAMES, type ScriptRenderer } from '../boot/render.js';
import type { HostSpec } from '../config/provisioning.js';
import { describeError, isPxedError } from '../errors.js';
import { fetchCommand, localRef, type AssetSpec } from './catalog.js';
import { assetProblem, byPath, type AssetProblem, type Severity } from './status.js';

export interface BootProblem {
  host: string;
  severity: Severity;
  message: string;
  /** What fixes it (a command when there is one). */
  fix: string | null;
}

export interface BootCheckOptions {
  serverUrl: string;
  /** pxed's own base URLs (serverUrl, public_url). */
  selfUrls: readonly string[];
  assetRoots: readonly string[];
  specs: readonly AssetSpec[];
}

/** Asset paths (below the roots) an install boot loads from pxed: asset-relative refs and <self>/assets/ URLs. */
export function pxedAssetRefs(install: InstallBoot, selfUrls: readonly string[]): string[] {
  const refs = [install.kernel, ...install.initrds];
  for (const arg of install.cmdline.split(/\s+/)) {
    const eq = arg.indexOf('=');
    if (eq > 0 && /^https?:\/\//.test(arg.slice(eq + 1))) refs.push(arg.slice(eq + 1));
  }
  const out: string[] = [];
  for (const ref of refs) {
    const rel = /^https?:\/\//.test(ref) ? localRef(ref, selfUrls) : localRef(ref);
    if (rel !== null && !out.includes(rel)) out.push(rel);
  }
  return out;
}

/** Problems of the assets an install boot loads from pxed (missing: error; unverified: warning). */
export async function installAssetProblems(install: InstallBoot, opts: BootCheckOptions): Promise<AssetProblem[]> {
  const specs = byPath(opts.specs);
  const out: AssetProblem[] = [];
  for (const rel of pxedAssetRefs(install, opts.selfUrls)) {
    const p = await assetProblem(rel, opts.assetRoots, specs.get(rel) ?? null);
    if (p !== null) out.push(p);
  }
  return out;
}

/** One line per missing or unverified asset of `install`, for `pxed render` (stderr). */
export async function missingAssetWarnings(install: InstallBoot, opts: BootCheckOptions): Promise<string[]> {
  return (await installAssetProblems(install, opts)).map((p) => `${p.severity}: ${p.message}; fix: ${p.fix}`);
}

/**
 * Renders every artifact `host` has (booting as `mac`) and checks its pxed-served assets, and for NixOS the
 * image's netboot.ipxe (which the profile needs to render at all; its failure is reported once, as that asset).
 */
export async function checkHostBoot(renderer: ScriptRenderer, host: HostSpec, mac: string, opts: BootCheckOptions): Promise<BootProblem[]> {
  const out: BootProblem[] = [];
  const add = (severity: Severity, message: string, fix: string | null): void => {
    if (!out.some((p) => p.message === message)) out.push({ host: host.name, severity, message, fix });
  };
  // NixOS: pxed reads the image's netboot.ipxe (init= of the build) to render the install at all.
  const netbootName = host.install.os === 'nixos' && host.install.version !== null ? `nixos/${host.install.version}/netboot.ipxe` : null;
  const netbootSpec = opts.specs.find((s) => s.name === netbootName);
  if (netbootSpec !== undefined) {
    const p = await assetProblem(netbootSpec.path, opts.assetRoots, netbootSpec);
    if (p !== null) add(p.severity, p.message, p.fix);
  }
  for (const artifact of PREVIEW_ARTIFACT_NAMES) {
    try {
      const doc = renderer.preview({ host, mac }, artifact);
      if (doc.install !== undefined) {
        for (const p of await installAssetProblems(doc.install, opts)) add(p.severity, p.message, p.fix);
      }
    } catch (err) {
      if (isPxedError(err, 'BOOT_NOT_FOUND')) continue; // this OS has no such artifact
      if (isPxedError(err, 'ARTIFACT_INVALID') && err.details?.field === 'netboot.ipxe' && netbootName !== null) {
        // Reported above as missing; otherwise (present but unreadable) this is the message.
        if (!out.some((p) => p.severity === 'error')) add('error', `${artifact}: ${err.message}`, fetchCommand(netbootName));
        continue;
      }
      add('error', `${artifact}: ${describeError(err)}`, null);
    }
  }
  return out;
}
