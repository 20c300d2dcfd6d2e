// BootPolicy: the one answer to "what does this machine get, and what state is it in". DHCP, TFTP and HTTP call it
// through the seams in ./types.ts; it reads the registry and the provisioning model and nothing else.
//
// Decisions (documented for operators in docs and README):
//   - DHCP (protocol.md §4.3 loop breaker): an iPXE client gets the bootstrap URL http://S:P/boot.ipxe — never
//     undionly again; BIOS PXE gets undionly.kpxe ('direct'); UEFI PXE gets snponly.efi (per-machine ipxe.efi) with
//     the machine's UEFI strategy; UEFI HTTP boot gets the same binary over HTTP, http://S:P/assets/ipxe/<path>.
//     <path> follows the iPXE-roots layout: x86_64 binaries at the root (Debian's /usr/lib/ipxe/snponly.efi),
//     i386/ and arm64/ sub-directories for other builds (bin-arm64-efi/snponly.efi → <root>/arm64/snponly.efi).
//   - Installed/configured machines in install mode 'once' still get the iPXE chain: the local-boot decision is
//     made in their iPXE script (`exit`, or `sanboot` on BIOS), so the machine leaves network boot through its
//     firmware's own boot order, and the timeline shows that it asked and was told to boot locally. Staying silent
//     instead would make every such boot wait for the PXE timeout and leave no trace.
//   - Discovered machines (unknown_macs: discover) are recorded and then left alone by DHCP, unless
//     settings.bootDiscovered is set, in which case they boot to a script that says how to register them.
//   - `failed` is hard (model/machine.ts): a failed machine that netboots gets a script that says so and leaves.
//   - dhcpBoot does only synchronous registry work (one lookup, at most one event append), no rendering.//
// The facade: each job lives in its own file (bootfile, discovery, attribution, reports, render, tokens, artifacts,
// phone-home; the watchdog is its own service). Every seam method is synchronous (better-sqlite3 is); the
// protocols adapt at their boundary.

import { PxedError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Provisioning } from '../config/provisioning.js';
import { systemClock, type Clock } from '../model/clock.js';
import { BootEvents, type ScriptDetail } from '../model/events.js';
import { isIpv4 } from '../net/ipv4.js';
import { parseMac } from '../net/mac.js';
import type { MachineRegistry } from '../registry/types.js';
import { tokenArtifact } from './artifacts.js';
import { Attribution } from './attribution.js';
import { answerDhcp } from './bootfile.js';
import type { OsProfiles } from './os-profile.js';
import { phoneHome } from './phone-home.js';
import { IPXE_CONTENT_TYPE, ScriptRenderer, type RenderedScript } from './render.js';
import { recordAssetServed, recordTftpTransfer } from './reports.js';
import { DEFAULT_WRITE_LIMITS, WriteGate, noBootMetrics, type BootMetricsPort } from './budget.js';
import { BootGuard, type ScriptHold } from './guard.js';
import { RepeatGate } from './repeats.js';
import { renderBootstrap, renderRefusal, renderUnknown } from './scripts.js';
import { hostOf, type BootSettings, type PolicyContext } from './settings.js';
import { SignedFiles, renderGrubConfig } from './signed.js';
import { BootTokens, hashToken } from './tokens.js';
import type {
  AddressObservation,
  DhcpBootAnswer,
  DhcpBootPolicy,
  DhcpBootQuery,
  HttpBootPolicy,
  HttpDocument,
  IpxeScriptRequest,
  PhoneHomeRequest,
  TftpBootPolicy,
  TftpClientRef,
  TftpOpenResult,
  TftpTransferReport,
  TokenArtifactRequest,
} from './types.js';

export { IPXE_CONTENT_TYPE, type RenderedScript, type ScriptVariant } from './render.js';
export { isSubiquityLateStage, parsePhoneHome } from './phone-home.js';
export type { BootSettings } from './settings.js';

export interface BootPolicyDeps {
  registry: MachineRegistry;
  /** The validated provisioning model; only install entries by name are read. */
  provisioning: Pick<Provisioning, 'hostByName'>;
  settings: BootSettings;
  /** Renderers by host.install.os ('ubuntu', 'nixos'); `custom` is built in. */
  osProfiles: OsProfiles;
  /** Defaults to the system clock. */
  clock?: Clock;
  logger: Logger;
  /** Write-budget and discovered-cap counters for /metrics; none by default. */
  metrics?: BootMetricsPort;
}

/** The detail of an 'ipxe-script' event; `repeats`: identical fetches folded into it. */
function scriptEvent(script: RenderedScript, client: string, repeats: number): ScriptDetail {
  const detail = { variant: script.variant, client, ...script.detail } as ScriptDetail;
  return repeats > 0 ? { ...detail, repeats } : detail;
}

/**
 * What a reload may change, swapped whole (SIGHUP): the provisioning model, the settings and the OS profiles. Each
 * request reads the snapshot current when it starts; nothing in a snapshot is ever mutated.
 */
export interface PolicySnapshot {
  readonly provisioning: BootPolicyDeps['provisioning'];
  readonly settings: BootSettings;
  readonly osProfiles: OsProfiles;
}

export class BootPolicy implements DhcpBootPolicy, TftpBootPolicy, HttpBootPolicy {
  private readonly ctx: PolicyContext;
  private readonly attribution: Attribution;
  private readonly tokens: BootTokens;
  /** Install-hijack and token-source guards (guard.ts). */
  private readonly guard: BootGuard;
  private readonly scriptRepeats = new RepeatGate();
  /** Asset answers without bytes (HEAD, 304, 416), folded per machine and status. */
  private readonly emptyAssets = new RepeatGate(60_000);
  private bootstrapCache: HttpDocument | null = null;
  private current: { snapshot: PolicySnapshot; renderer: ScriptRenderer };
  /** The signed Secure Boot chain's TFTP files (signed.ts); null when settings.signed is absent. */
  private signedFiles: SignedFiles | null;
  readonly serverUrl: string;

  constructor(deps: BootPolicyDeps) {
    this.serverUrl = `http://${deps.settings.serverAddress}:${deps.settings.httpPort}`;
    // The parts (attribution, tokens, renderer) keep this one context; its provisioning and settings are read
    // from the current snapshot at each use.
    const snap = (): PolicySnapshot => this.current.snapshot;
    this.ctx = {
      registry: deps.registry,
      get provisioning() {
        return snap().provisioning;
      },
      get settings() {
        return snap().settings;
      },
      clock: deps.clock ?? systemClock,
      log: deps.logger,
      serverUrl: this.serverUrl,
      writes: new WriteGate(() => ({ ...DEFAULT_WRITE_LIMITS, ...snap().settings.writeLimits }), deps.metrics ?? noBootMetrics, (m, f) => deps.logger.warn(m, f)),
    };
    const snapshot = Object.freeze({ provisioning: deps.provisioning, settings: deps.settings, osProfiles: deps.osProfiles });
    this.current = { snapshot, renderer: new ScriptRenderer(this.ctx, deps.osProfiles) };
    this.attribution = new Attribution(this.ctx);
    this.guard = new BootGuard(() => ({ mintsPerMinute: this.ctx.settings.scriptMintsPerMinute, bindTokens: this.ctx.settings.bindTokens }));
    this.tokens = new BootTokens(this.ctx, this.guard);
    this.signedFiles = this.makeSignedFiles(deps.settings);
  }

  /** Rendering (scripts, artifacts, previews) for the current settings and OS profiles. */
  get renderer(): ScriptRenderer {
    return this.current.renderer;
  }

  get snapshot(): PolicySnapshot {
    return this.current.snapshot;
  }

  /**
   * Swaps in a new snapshot (SIGHUP reload). The server address and HTTP port are bound at start and cannot change
   * here (CONFIG_INVALID otherwise). Every seam method is synchronous, so one request never sees two snapshots.
   */
  reconfigure(next: PolicySnapshot): void {
    const { serverAddress, httpPort } = next.settings;
    if (serverAddress !== this.current.snapshot.settings.serverAddress || httpPort !== this.current.snapshot.settings.httpPort) {
      throw new PxedError('CONFIG_INVALID', 'the server address and HTTP port change only with a restart', { serverAddress, httpPort });
    }
    const snapshot = Object.freeze({ ...next });
    this.current = { snapshot, renderer: new ScriptRenderer(this.ctx, snapshot.osProfiles) };
    this.signedFiles = this.makeSignedFiles(snapshot.settings);
  }

  private makeSignedFiles(settings: PolicySnapshot['settings']): SignedFiles | null {
    const signed = settings.signed;
    return signed
      ? new SignedFiles({ signedRoots: signed.roots, assetRoots: signed.assetRoots, loaderDir: (address) => this.signedLoaderDir(address) })
      : null;
  }

  // ---- DHCP

  /** What this client boots, or null to stay silent (bootfile.ts). */
  dhcpBoot(query: DhcpBootQuery): DhcpBootAnswer | null {
    const answer = answerDhcp(this.ctx, query);
    // An answered exchange of a known machine is a (re)boot: its next install script may re-arm (guard.ts).
    if (answer !== null) this.guard.dhcpExchange(query.client.mac);
    return answer;
  }

  dhcpObserved(obs: AddressObservation): void {
    this.attribution.observed(obs);
    const mac = parseMac(obs.mac);
    if (mac !== null) this.guard.dhcpAddressSeen(mac, obs.ip);
  }

  /** The MAC that last used `ip` (attribution.ts). */
  macForIp(ip: string): string | null {
    return this.attribution.macForIp(ip);
  }

  // ---- TFTP

  /**
   * Generated TFTP files are the signed chain's (signed.ts: shim, GRUB, grub.cfg, kernels for GRUB); everything
   * else comes from the static roots (undionly.kpxe, snponly.efi, ...). `autoexec.ipxe` is the TFTP server's
   * business.
   */
  async tftpOpen(path: string, client: TftpClientRef): Promise<TftpOpenResult | null> {
    if (this.signedFiles === null || !SignedFiles.handles(path)) return null;
    return this.signedFiles.open(path, client.address, (mac, address) => renderGrubConfig({ ctx: this.ctx, renderer: this.renderer, tokens: this.tokens, attribution: this.attribution, guard: this.guard }, mac, address));
  }

  /** The host's own signed shim/GRUB directory (pxe.signed_loaders) for the machine that last used `address`. */
  private signedLoaderDir(address: string): string | null {
    const mac = this.attribution.macForIp(address);
    const machine = mac === null ? null : this.ctx.registry.machineGet(mac);
    return machine === null ? null : (hostOf(this.ctx, machine)?.pxe.signed_loaders ?? null);
  }

  /** Best effort, never throws: a transfer that ends while the daemon stops may find the registry closed. */
  tftpTransferred(report: TftpTransferReport): void {
    this.report(() => recordTftpTransfer(this.ctx, this.attribution, report));
  }

  // ---- HTTP

  bootstrapScript(_clientAddress: string): HttpDocument {
    this.bootstrapCache ??= { contentType: IPXE_CONTENT_TYPE, body: renderBootstrap(this.serverUrl) };
    return this.bootstrapCache;
  }

  /**
   * The machine's iPXE script; an install script arms a new boot (state, token, event in one transaction). While an
   * install is armed, only a new DHCP exchange lets a fetch re-arm it (guard.ts); minting is rate-limited per MAC.
   */
  machineScript(req: IpxeScriptRequest): HttpDocument {
    const mac = parseMac(req.mac);
    if (mac === null) return { contentType: IPXE_CONTENT_TYPE, body: renderUnknown(req.mac) };
    this.attribution.note(req.clientAddress, mac);
    const { registry, log, clock } = this.ctx;
    const machine = registry.machineGet(mac);
    if (machine === null) {
      if (log.enabled('debug')) log.debug('iPXE script for an unknown machine', { mac, client: req.clientAddress });
      return { contentType: IPXE_CONTENT_TYPE, body: renderUnknown(mac) };
    }
    const now = clock.now().getTime();
    const hold = this.guard.hold(mac, machine.state, req.clientAddress, this.tokens.liveness);
    if (hold !== null) return this.held(mac, hold, req.clientAddress, now);
    // The machine's IP in every DHCP mode (proxy mode has no lease to read it from): the address that fetched its
    // script over TCP. DHCP option 50 stays a hint (attribution.ts). Anyone can fetch any MAC's script: the update
    // is within the write budgets, and a held fetch (guard.ts) never gets here.
    if (machine.ip !== req.clientAddress && isIpv4(req.clientAddress) && this.ctx.writes.allow('script', mac, req.clientAddress, now)) {
      registry.machineUpdate(mac, { ip: req.clientAddress });
    }
    const script = this.renderer.renderScript(machine, req.query, false);
    const { bootId, token } = script;
    if (script.variant === 'install' && bootId !== null && token !== null) {
      if (!this.guard.mintAllowed(mac, now)) {
        return this.refusal(mac, 'rate-limited', 'too many install scripts for this machine; retry in a minute', req.clientAddress, now);
      }
      // The new boot's state, tokens and script event land together or not at all (one registry write).
      this.tokens.arm(machine, bootId, token, BootEvents.script(scriptEvent(script, req.clientAddress, 0)));
      this.guard.minted(mac, { hash: hashToken(token), bootId, address: req.clientAddress, document: script.document }, now);
      return script.document;
    }
    // No state change: identical fetches within a short window are folded into one event, within the budgets.
    const admitted = this.scriptRepeats.admit(mac, script.variant, now);
    if (admitted !== null && this.ctx.writes.allow('script', mac, req.clientAddress, now)) registry.eventAppend(mac, BootEvents.script(scriptEvent(script, req.clientAddress, admitted.repeats)));
    return script.document;
  }

  /** HttpBootPolicy.inOneWrite: the renders' state, tokens and events in one registry transaction. A render whose
   * commit fails leaves only in-memory records the guard checks against the registry (an armed token that is not
   * live there holds nothing), so none needs undoing. */
  inOneWrite(fn: () => void): void {
    this.ctx.registry.atomically(fn);
  }

  /** A held fetch (guard.ts): the armed script again for its own address, a refusal for any other. */
  private held(mac: string, hold: NonNullable<ScriptHold>, client: string, now: number): HttpDocument {
    if (hold.kind === 'refuse') return this.refusal(mac, hold.reason, hold.message, client, now);
    const admitted = this.scriptRepeats.admit(mac, 'install-again', now);
    if (admitted !== null && this.ctx.writes.allow('script', mac, client, now)) {
      const detail: ScriptDetail = { variant: 'install', client, bootId: hold.bootId, again: true };
      this.ctx.registry.eventAppend(mac, BootEvents.script(admitted.repeats > 0 ? { ...detail, repeats: admitted.repeats } : detail));
    }
    return hold.document;
  }

  /** A refusal script; recorded (naming the address) and logged at most once per refusal window per machine. */
  private refusal(mac: string, reason: string, message: string, client: string, now: number): HttpDocument {
    const admitted = this.guard.refusalAdmitted(mac, `script-${reason}`, now);
    if (admitted !== null) {
      const detail: ScriptDetail = { variant: 'refused', client, reason, ...(admitted.repeats > 0 ? { repeats: admitted.repeats } : {}) };
      this.ctx.registry.eventAppend(mac, BootEvents.script(detail));
      this.ctx.log.warn('install script refused', { mac, client, reason, folded: admitted.repeats });
    }
    return { contentType: IPXE_CONTENT_TYPE, body: renderRefusal(mac, message) };
  }

  /** Token routes (artifacts.ts); null = 404. */
  tokenArtifact(req: TokenArtifactRequest): HttpDocument | null {
    return tokenArtifact(this.ctx, { tokens: this.tokens, renderer: this.renderer, attribution: this.attribution }, req);
  }

  /**
   * HttpBootPolicy.tokenKnown: the token exists (live, expired or recently revoked) and may be used from this address.
   * Nothing is written for an unknown token; a known one from the wrong address is recorded (folded, guard.ts).
   */
  tokenKnown(token: string, clientAddress: string): boolean {
    return this.tokens.resolveFrom(token, clientAddress, 'phone-home') !== null;
  }

  /** Phone-home (phone-home.ts); null = 404. Throws BOOT_BAD_INPUT (→ 400) for a body it cannot read. */
  phoneHome(req: PhoneHomeRequest): { state: string } | null {
    return phoneHome(this.ctx, this.tokens, req);
  }

  /** Best effort, never throws (as tftpTransferred). */
  assetServed(clientAddress: string, path: string, bytes: number, status: number): void {
    this.report(() => recordAssetServed(this.ctx, this.attribution, this.emptyAssets, { clientAddress, path, bytes, status }));
  }

  private report(record: () => void): void {
    try {
      record();
    } catch (err) {
      this.ctx.log.warn('transfer report not recorded', { err: describeError(err) });
    }
  }
}
