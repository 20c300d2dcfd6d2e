// Rendering: the per-machine iPXE script (install, local boot, discovered, refusal) and the install artifacts,
// live or as a preview. One path for the daemon, the admin API's preview and `pxed render`. Local-boot scripts are
// memoised per MAC (an installed machine gets the same script on every reboot).

import type { HostSpec } from '../config/provisioning.js';
import { PxedError, describeError, isPxedError } from '../errors.js';
import { LOCAL_STATES, type Machine, type MachineState } from '../model/machine.js';
import { renderCustomInstall } from './custom.js';
import { PREVIEW_TOKEN, installContext, type InstallBoot, type OsProfiles } from './os-profile.js';
import { assetUrl, renderDiscovered, renderInstall, renderLocalBoot, renderRefusal, type LocalBootMethod } from './scripts.js';
import { splitKernelArgs } from './ipxe.js';
import type { BootSettings, PolicyContext } from './settings.js';
import { mintToken, newBootId } from './tokens.js';
import type { HttpDocument } from './types.js';
import { PREVIEW_ARTIFACTS, PREVIEW_ARTIFACT_NAMES, isPreviewArtifact } from '../model/artifacts.js';

export { PREVIEW_ARTIFACTS, PREVIEW_ARTIFACT_NAMES, isPreviewArtifact, type PreviewArtifact } from '../model/artifacts.js';

export const IPXE_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** Bound of the local-boot script memo (cleared when full). */
const LOCAL_BOOT_SCRIPTS_MAX = 4096;
/** States whose netboot renders an install (installed/configured only in 'always' mode). */
const INSTALL_STATES: readonly MachineState[] = ['registered', 'booting', 'installing', 'stalled'];

/** Result of an `ipxe` preview (admin API) or of a live rendering. */
export type ScriptVariant = 'install' | 'local-boot' | 'discovered' | 'unknown' | 'refused' | 'error';

/** A rendered per-machine script. Local-boot results are memoised and shared: treat as read-only. */
export interface RenderedScript {
  readonly variant: ScriptVariant;
  readonly body: string;
  /** The body as the HTTP answer. */
  readonly document: HttpDocument;
  readonly bootId: string | null;
  readonly token: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
}


function rendered(variant: ScriptVariant, body: string, detail: Record<string, unknown>, bootId: string | null = null, token: string | null = null): RenderedScript {
  return { variant, body, document: { contentType: IPXE_CONTENT_TYPE, body }, bootId, token, detail };
}

/** What rendering reads: the daemon's policy context, or the config files alone (`pxed render`). */
export interface RenderContext {
  readonly provisioning: PolicyContext['provisioning'];
  readonly settings: Pick<BootSettings, 'serverAddress' | 'httpPort' | 'localBoot'>;
  readonly log: PolicyContext['log'];
  readonly serverUrl: string;
}

export class ScriptRenderer {
  private readonly localBootScripts = new Map<string, { hostname: string; platform: string; method: LocalBootMethod; script: RenderedScript }>();

  constructor(
    private readonly ctx: RenderContext,
    private readonly osProfiles: OsProfiles,
  ) {}

  /**
   * Renders the machine's script without side effects. In preview mode the token is PREVIEW_TOKEN and rendering
   * errors are thrown; live, they become a refusal script (the console shows why) with variant 'error'.
   */
  renderScript(
    machine: Machine,
    query: Record<string, string | undefined>,
    preview: boolean,
  ): RenderedScript {
    if (machine.state === 'discovered' || machine.host === null) {
      return rendered('discovered', renderDiscovered(machine.mac), {});
    }
    if (machine.state === 'failed') {
      const msg = `the last install failed; an operator must re-arm it (pxed machines reinstall ${machine.mac})`;
      return rendered('refused', renderRefusal(machine.mac, msg), { reason: 'failed' });
    }
    const host = this.ctx.provisioning.hostByName(machine.host);
    if (host === null) {
      const msg = `install entry "${machine.host}" is not in the provisioning config`;
      if (preview) throw new PxedError('BOOT_HOST_NOT_FOUND', msg, { host: machine.host });
      return rendered('refused', renderRefusal(machine.mac, msg), { reason: 'host-missing', host: machine.host });
    }
    const hostname = host.install.network.hostname;
    const reinstall = machine.installMode === 'always';
    if (LOCAL_STATES.includes(machine.state) && !reinstall) {
      return this.localBootScript(machine.mac, hostname, this.platformOf(machine, query.platform));
    }
    if (!INSTALL_STATES.includes(machine.state) && !reinstall) {
      return rendered('refused', renderRefusal(machine.mac, `state ${machine.state}`), {});
    }
    const token = preview ? PREVIEW_TOKEN : mintToken();
    const bootId = preview ? 'preview' : newBootId();
    try {
      const { body } = this.installScript(host, machine.mac, token, bootId, query);
      return rendered('install', body, { os: host.install.os, bootId }, bootId, token);
    } catch (err) {
      if (preview || !isPxedError(err)) throw err;
      this.ctx.log.warn('cannot render install script', { mac: machine.mac, err: describeError(err) });
      return rendered('error', renderRefusal(machine.mac, `cannot render the install script: ${err.message}`), {
        code: err.code,
        error: err.message,
        ...(err.details?.field !== undefined ? { field: err.details.field } : {}),
      });
    }
  }

  /**
   * The OS's kernel, initrds and command line for this install (custom: from the entry's custom section); the iPXE
   * script and the signed chain's grub.cfg (signed.ts) are both made from it.
   */
  installBoot(host: HostSpec, mac: string, token: string, query: Record<string, string | undefined>): InstallBoot {
    const ctx = installContext(this.ctx.serverUrl, token, mac, host.install.network.hostname);
    const buildarch = query.arch;
    if (buildarch !== undefined && /^[a-z0-9_]{1,16}$/.test(buildarch)) ctx.buildarch = buildarch;
    if (host.install.os === 'custom') {
      if (host.install.custom === null) {
        throw new PxedError('BOOT_SCRIPT_INVALID', `host ${host.name} has os custom but no custom section`, { field: 'custom' });
      }
      return renderCustomInstall(host.install.custom, ctx, this.ctx.settings.serverAddress, this.ctx.settings.httpPort);
    }
    const profile = this.osProfiles[host.install.os];
    if (profile === undefined) {
      throw new PxedError('BOOT_PROFILE_NOT_FOUND', `no OS profile for os ${host.install.os}`, { field: 'os' });
    }
    return profile.renderInstall(host, ctx);
  }

  /** The memoised local-boot rendering for this MAC, hostname and platform (frozen, shared between requests). */
  private localBootScript(mac: string, hostname: string, platform: 'pcbios' | 'efi'): RenderedScript {
    const method: LocalBootMethod = platform === 'pcbios' ? this.ctx.settings.localBoot.bios : this.ctx.settings.localBoot.efi;
    const memo = this.localBootScripts.get(mac);
    if (memo !== undefined && memo.hostname === hostname && memo.platform === platform && memo.method === method) return memo.script;
    const script = rendered('local-boot', renderLocalBoot(mac, hostname, method), Object.freeze({ platform, method }));
    Object.freeze(script.document);
    Object.freeze(script);
    if (this.localBootScripts.size >= LOCAL_BOOT_SCRIPTS_MAX) this.localBootScripts.clear();
    this.localBootScripts.set(mac, { hostname, platform, method, script });
    return script;
  }

  /** iPXE ${platform} ('pcbios' | 'efi'), else guessed from the firmware the DHCP side saw. */
  private platformOf(machine: Machine, platform: string | undefined): 'pcbios' | 'efi' {
    if (platform === 'pcbios' || platform === 'efi') return platform;
    return machine.firmware === 'bios' ? 'pcbios' : 'efi';
  }

  /**
   * The install script a machine with install entry `host` gets, with `token` and `bootId` (preview: PREVIEW_TOKEN
   * and 'preview'). Throws the renderer's coded error (ARTIFACT_INVALID, BOOT_SCRIPT_INVALID, BOOT_PROFILE_NOT_FOUND).
   */
  installScript(host: HostSpec, mac: string, token: string, bootId: string, query: Record<string, string | undefined> = {}): { body: string; install: InstallBoot } {
    const boot = this.installBoot(host, mac, token, query);
    const body = renderInstall({
      mac,
      hostname: host.install.network.hostname,
      os: host.install.os,
      bootId,
      kernelUrl: assetUrl(this.ctx.serverUrl, boot.kernel),
      initrdUrls: boot.initrds.map((i) => assetUrl(this.ctx.serverUrl, i)),
      args: splitKernelArgs(boot.cmdline),
    });
    return { body, install: boot };
  }

  /** An install artifact (user-data, install.sh, ...) for `token`; null when the OS has no such artifact. */
  artifact(host: HostSpec, mac: string, token: string, family: string, name: string): HttpDocument | null {
    const profile = this.osProfiles[host.install.os];
    if (profile === undefined) return null;
    return profile.renderArtifact(family, name, host, installContext(this.ctx.serverUrl, token, mac, host.install.network.hostname));
  }

  /**
   * Renders `artifact` as a machine with install entry `host` and MAC `mac` gets it, with the placeholder token
   * PREVIEW_TOKEN: nothing is minted, written or recorded. `machine` (when known) picks the iPXE script it would get
   * now (install, local boot, discovered, ...); without it (`pxed render`) the install script. Throws BOOT_BAD_INPUT
   * for an unknown artifact name, BOOT_NOT_FOUND when there is no install entry or the OS has no such artifact, and
   * the renderer's coded error (ARTIFACT_INVALID, BOOT_SCRIPT_INVALID, ...).
   */
  preview(
    target: { host: HostSpec | null; mac: string; machine?: Machine },
    artifact: string,
    query: Record<string, string | undefined> = {},
  ): HttpDocument & { install?: InstallBoot } {
    if (!isPreviewArtifact(artifact)) {
      throw new PxedError('BOOT_BAD_INPUT', `unknown artifact "${artifact}"; expected one of ${PREVIEW_ARTIFACT_NAMES.join(', ')}`, { field: 'artifact' });
    }
    const { host, mac, machine } = target;
    const route = PREVIEW_ARTIFACTS[artifact];
    if (route === null && machine !== undefined) return { contentType: IPXE_CONTENT_TYPE, body: this.renderScript(machine, query, true).body };
    if (host === null) throw new PxedError('BOOT_NOT_FOUND', `machine ${mac} has no install entry to render`, { mac });
    if (route === null) {
      const r = this.installScript(host, mac, PREVIEW_TOKEN, 'preview', query);
      return { contentType: IPXE_CONTENT_TYPE, body: r.body, install: r.install };
    }
    const doc = this.artifact(host, mac, PREVIEW_TOKEN, route.family, route.name);
    if (doc === null) throw new PxedError('BOOT_NOT_FOUND', `os ${host.install.os} has no ${artifact} artifact`, { mac, artifact });
    return doc;
  }
}
