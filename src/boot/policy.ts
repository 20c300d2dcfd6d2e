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
//   - `failed` is hard (lifecycle.ts): a failed machine that netboots gets a script that says so and leaves.
//   - dhcpBoot does only synchronous registry work (one lookup, at most one event append), no rendering.

import { PxedError, describeError, isPxedError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HostSpec, Provisioning } from '../config/provisioning.js';
import { normalizeMac } from '../config/net.js';
import { WATCHED_STATES } from '../registry/lifecycle.js';
import type { BootEvent, BootToken, InstallMode, Machine, MachineRegistry, MachineState } from '../registry/types.js';
import { resolveBootChain, shimFileFor, secureBootStage, takesSignedChain, type BootChain } from './chain.js';
import { renderCustomInstall } from './custom.js';
import { GRUB_ASSET_PREFIX } from './grub.js';
import { IpMacMap } from './ipmap.js';
import { RepeatGate } from './repeats.js';
import { SignedFiles, renderGrubConfig } from './signed.js';
import { PREVIEW_TOKEN, installContext, type InstallBoot, type OsProfile, type OsProfiles } from './os-profile.js';
import {
  assetUrl,
  renderBootstrap,
  renderDiscovered,
  renderInstall,
  renderLocalBoot,
  renderRefusal,
  renderUnknown,
  type LocalBootMethod,
} from './scripts.js';
import { hashToken, isTokenShaped, mintToken, newBootId } from './tokens.js';
import type {
  AddressObservation,
  BootClient,
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
  UefiStrategy,
} from './types.js';

export const IPXE_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** Bound of the local-boot script memo (cleared when full). */
const LOCAL_BOOT_SCRIPTS_MAX = 4096;

/** The daemon settings the policy needs (from configs/pxed.yaml, resolved once at start-up). */
export interface BootSettings {
  /** Our IPv4 address on the provisioning network: siaddr, and the host of every URL we hand out. */
  serverAddress: string;
  httpPort: number;
  /** Unknown MACs: stay silent, or record them as `discovered` (and still stay silent). */
  unknownMacs: 'ignore' | 'discover';
  /** Answer DHCP for `discovered` machines so they reach a script explaining how to register them. Default false. */
  bootDiscovered?: boolean;
  /** Default install mode for machines created without one. */
  installMode: InstallMode;
  /** Default UEFI :67 strategy (machine override > host pxe.uefi_strategy > this). */
  uefiStrategy: UefiStrategy;
  /** Default iPXE EFI binary (machine override > host pxe.efi_binary > this). */
  efiBinary: 'snponly.efi' | 'ipxe.efi';
  /** How iPXE leaves for the local disk, by iPXE ${platform}. */
  localBoot: { bios: LocalBootMethod; efi: 'exit' };
  tokenTtlMinutes: number;
  /** booting/installing with no event for this long → stalled. */
  watchdogMinutes: number;
  /** Default boot chain (machine override > host pxe.boot_chain > this); 'ipxe' when absent. */
  bootChain?: BootChain;
  /** Signed chain: where the signed shim/GRUB are, and the asset roots GRUB loads kernels from (src/boot/signed.ts). */
  signed?: { roots: readonly string[]; assetRoots: readonly string[] };
}

export interface Clock {
  now(): Date;
}

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
}

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

/** The detail of an 'ipxe-script' event; `repeats`: identical fetches folded into it. */
function scriptEvent(script: RenderedScript, client: string, repeats: number): Record<string, unknown> {
  const detail: Record<string, unknown> = { variant: script.variant, client, ...script.detail };
  if (repeats > 0) detail.repeats = repeats;
  return detail;
}

function rendered(variant: ScriptVariant, body: string, detail: Record<string, unknown>, bootId: string | null = null, token: string | null = null): RenderedScript {
  return { variant, body, document: { contentType: IPXE_CONTENT_TYPE, body }, bootId, token, detail };
}

/**
 * Where the Debian `ipxe` package's EFI binaries are (x86_64 only: /usr/lib/ipxe/{snponly,ipxe}.efi at the TFTP
 * root). Other architectures are looked up in a sub-directory of the TFTP roots (also served as /assets/ipxe/<dir>/)
 * that the operator fills from an iPXE build (bin-arm64-efi/snponly.efi → <root>/arm64/snponly.efi).
 */
const EFI_ARCH_DIR: Readonly<Partial<Record<BootClient['firmware'], string>>> = {
  'efi-x64': 'x86_64',
  'efi-ia32': 'i386',
  'efi-arm64': 'arm64',
  'efi-x64-http': 'x86_64',
  'efi-ia32-http': 'i386',
  'efi-arm64-http': 'arm64',
};

/** States whose netboot renders an install (installed/configured only in 'always' mode). */
const INSTALL_STATES: readonly MachineState[] = ['registered', 'booting', 'installing', 'stalled'];
/** States that accept a phone-home or artifact as progress. */
const ACTIVE_STATES: readonly MachineState[] = ['booting', 'installing', 'stalled'];
const DONE_STATES: readonly MachineState[] = ['installed', 'configured', 'failed'];

interface ResolvedToken {
  token: BootToken;
  machine: Machine;
  status: 'live' | 'expired' | 'revoked';
}

/** A Subiquity reporting-webhook event or a script's status report, validated. */
type PhoneHomeReport =
  | { type: 'status'; status: 'installed' | 'failed'; detail: string | null }
  | {
      type: 'subiquity';
      eventType: string;
      name: string;
      result: string | null;
      description: string | null;
      origin: string | null;
      timestamp: number | string | null;
    };

function clip(s: string, n = 500): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

/** The top-level late stage of a Subiquity install (its `finish` with SUCCESS means the install is done). */
export function isSubiquityLateStage(name: string): boolean {
  return name === 'subiquity/Late/run' || /\/late$/i.test(name);
}

export function parsePhoneHome(body: unknown): PhoneHomeReport {
  const bad = (field: string, msg: string): PxedError =>
    new PxedError('BOOT_BAD_INPUT', `phone-home body: ${field} ${msg}`, { field });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body', 'must be a JSON object');
  const o = body as Record<string, unknown>;
  const optStr = (k: string): string | null => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw bad(k, 'must be a string');
    return clip(v);
  };
  if ('status' in o) {
    if (o.status !== 'installed' && o.status !== 'failed') throw bad('status', 'must be "installed" or "failed"');
    const d = o.detail;
    const detail = d === undefined || d === null ? null : clip(typeof d === 'string' ? d : JSON.stringify(d));
    return { type: 'status', status: o.status, detail };
  }
  if (typeof o.event_type !== 'string' || o.event_type.length === 0) throw bad('event_type', 'must be a non-empty string');
  if (typeof o.name !== 'string' || o.name.length === 0) throw bad('name', 'must be a non-empty string');
  const ts = o.timestamp;
  return {
    type: 'subiquity',
    eventType: clip(o.event_type, 40),
    name: clip(o.name, 200),
    result: optStr('result'),
    description: optStr('description'),
    origin: optStr('origin'),
    timestamp: typeof ts === 'number' || typeof ts === 'string' ? ts : null,
  };
}

export class BootPolicy implements DhcpBootPolicy, TftpBootPolicy, HttpBootPolicy {
  private readonly registry: MachineRegistry;
  private readonly settings: BootSettings;
  private readonly clock: Clock;
  private readonly log: Logger;
  readonly ipMap = new IpMacMap();
  private readonly scriptRepeats = new RepeatGate();
  /** Last event time and kind per MAC, kept from the registry's event stream, for the watchdog. */
  private readonly lastEvent = new Map<string, { ms: number; kind: string }>();
  private readonly unsubscribe: () => void;
  private ipScanAt = 0;
  private bootstrapCache: HttpDocument | null = null;
  private readonly signedFiles: SignedFiles | null;
  /** Local-boot renderings by MAC (with the hostname, platform and method they were made for): an installed machine
   * gets the same script on every reboot. */
  private readonly localBootScripts = new Map<string, { hostname: string; platform: string; method: LocalBootMethod; script: RenderedScript }>();
  readonly serverUrl: string;

  constructor(private readonly deps: BootPolicyDeps) {
    this.registry = deps.registry;
    this.settings = deps.settings;
    this.clock = deps.clock ?? { now: () => new Date() };
    this.log = deps.logger;
    this.serverUrl = `http://${deps.settings.serverAddress}:${deps.settings.httpPort}`;
    this.unsubscribe = this.registry.eventSubscribe((e) => this.noteEvent(e));
    const signed = deps.settings.signed;
    this.signedFiles = signed ? new SignedFiles({ signedRoots: signed.roots, assetRoots: signed.assetRoots }) : null;
  }

  /** The renderer for `os` (undefined for `custom` and unknown OSes). */
  osProfile(os: string): OsProfile | undefined {
    return this.deps.osProfiles[os];
  }

  /** Stops following the registry's event stream. */
  close(): void {
    this.unsubscribe();
  }

  private noteEvent(e: BootEvent): void {
    const ms = Date.parse(e.time);
    if (Number.isFinite(ms)) this.lastEvent.set(e.mac, { ms, kind: e.kind });
    if (this.lastEvent.size > 100_000) this.lastEvent.clear();
  }

  private nowIso(): string {
    return this.clock.now().toISOString();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // DHCP

  async dhcpBoot(query: DhcpBootQuery): Promise<DhcpBootAnswer | null> {
    return Promise.resolve(this.dhcpBootSync(query));
  }

  /** The synchronous core of dhcpBoot (exported for benchmarks and tests). */
  dhcpBootSync(query: DhcpBootQuery): DhcpBootAnswer | null {
    const { client } = query;
    const machine = this.registry.machineGet(client.mac);
    if (machine === null) {
      if (this.settings.unknownMacs === 'discover' && client.firmware !== 'unsupported') this.discover(query);
      return null;
    }
    if (machine.state === 'discovered' && !this.settings.bootDiscovered) return null;
    const host = machine.host === null ? null : this.deps.provisioning.hostByName(machine.host);
    const answer = this.bootFileFor(client, machine, host);
    const kind = query.stage === 'proxy-offer' || query.stage === 'dhcp-offer' ? 'dhcp-offer' : 'dhcp-ack';
    // The offer event, the identity the client showed and the state it implies land together or not at all.
    this.registry.atomically(() => {
      this.registry.eventAppend(machine.mac, kind, {
        stage: query.stage,
        xid: query.xid,
        arch: client.arch,
        firmware: client.firmware,
        ipxe: client.isIpxe,
        strategy: answer?.strategy ?? null,
        bootFile: answer?.bootFile ?? null,
        ...(answer === null ? { ignored: `no iPXE build for firmware ${client.firmware}` } : {}),
      });
      if (answer === null) return;
      this.refreshIdentity(machine, client);
      // A netboot is a sign of life: registered (first boot) and stalled (the watchdog's guess) move to booting.
      if (machine.state === 'registered' || machine.state === 'stalled') {
        this.registry.machineTransition(machine.mac, 'booting', `netboot (${query.stage})`, { stage: query.stage });
      }
    });
    return answer;
  }

  /** The boot file for a client (protocol.md §4.3), or null for firmware we have no iPXE build for. */
  private bootFileFor(client: BootClient, machine: Machine, host: HostSpec | null): DhcpBootAnswer | null {
    const nextServer = this.settings.serverAddress;
    if (client.firmware === 'unsupported') return null;
    // iPXE first: iPXE EFI sends PXEClient/93=7 even when it was loaded by HTTP boot (ipxe#1527).
    if (client.isIpxe) return { bootFile: `${this.serverUrl}/boot.ipxe`, nextServer, strategy: 'direct' };
    if (client.firmware === 'bios') return { bootFile: 'undionly.kpxe', nextServer, strategy: 'direct' };
    if (takesSignedChain(client) && resolveBootChain(machine.overrides.bootChain, host?.pxe.boot_chain, this.settings.bootChain ?? 'ipxe') === 'signed') {
      const strategy = machine.overrides.uefiStrategy ?? host?.pxe.uefi_strategy ?? this.settings.uefiStrategy;
      return { bootFile: shimFileFor(client), nextServer, strategy };
    }
    const dir = EFI_ARCH_DIR[client.firmware];
    if (dir === undefined) return null;
    const binary = machine.overrides.efiBinary ?? host?.pxe.efi_binary ?? this.settings.efiBinary;
    // One layout for TFTP and HTTP: x86_64 at the root of the iPXE roots (Debian's /usr/lib/ipxe), others in <dir>/.
    const rel = dir === 'x86_64' ? binary : `${dir}/${binary}`;
    if (client.isHttpClient || client.firmware.endsWith('-http')) {
      // src/http serves /assets/ipxe/<rel> from the iPXE binary roots (the TFTP roots) first.
      return { bootFile: `${this.serverUrl}/assets/ipxe/${rel}`, nextServer, strategy: 'direct' };
    }
    const strategy = machine.overrides.uefiStrategy ?? host?.pxe.uefi_strategy ?? this.settings.uefiStrategy;
    return { bootFile: rel, nextServer, strategy };
  }

  private discover(query: DhcpBootQuery): void {
    const c = query.client;
    // The machine and its 'discovered' event land together (a lost race with another writer adds neither).
    const created = this.registry.atomically(() => {
      try {
        this.registry.machineCreate({
          mac: c.mac,
          host: null,
          state: 'discovered',
          installMode: this.settings.installMode,
          arch: c.arch,
          firmware: c.firmware,
          uuid: c.uuid,
          vendorClass: c.vendorClass,
        });
      } catch (err) {
        if (isPxedError(err, 'REGISTRY_EXISTS')) return false;
        throw err;
      }
      this.registry.eventAppend(c.mac, 'discovered', {
        stage: query.stage,
        arch: c.arch,
        firmware: c.firmware,
        ipxe: c.isIpxe,
        uuid: c.uuid,
        vendorClass: c.vendorClass,
      });
      return true;
    });
    if (created) this.log.info('discovered machine', { mac: c.mac, firmware: c.firmware, xid: query.xid });
  }


  /** Keeps arch/firmware/uuid/vendor class current (written only when they change; native PXE over iPXE). */
  private refreshIdentity(machine: Machine, c: BootClient): void {
    if (c.isIpxe) return; // iPXE reports its own arch/vendor class, not the firmware's.
    if (machine.arch === c.arch && machine.firmware === c.firmware && (c.uuid === null || machine.uuid === c.uuid)) return;
    this.registry.machineUpdate(machine.mac, {
      arch: c.arch,
      firmware: c.firmware,
      ...(c.uuid !== null ? { uuid: c.uuid } : {}),
      ...(c.vendorClass !== null ? { vendorClass: c.vendorClass } : {}),
    });
  }

  dhcpObserved(obs: AddressObservation): void {
    const mac = normalizeMac(obs.mac);
    if (mac === null) return;
    this.ipMap.set(obs.ip, mac);
    const machine = this.registry.machineGet(mac);
    if (machine !== null && machine.ip !== obs.ip) this.registry.machineUpdate(mac, { ip: obs.ip });
  }

  /** The MAC that last used `ip`: DHCP observations and script requests, then leases, then the registry's ip column. */
  macForIp(ip: string): string | null {
    const hit = this.ipMap.get(ip);
    if (hit !== undefined) return hit;
    const lease = this.registry.leaseGet(ip);
    if (lease !== null) {
      this.ipMap.set(ip, lease.mac);
      return lease.mac;
    }
    // Registry scan, at most every 5 s (an unknown address asking for assets must not cost a scan per request).
    const now = Date.now();
    if (now - this.ipScanAt < 5000) return null;
    this.ipScanAt = now;
    let found: string | null = null;
    for (const m of this.registry.machineList()) {
      if (m.ip === null) continue;
      if (this.ipMap.get(m.ip) === undefined) this.ipMap.set(m.ip, m.mac);
      if (m.ip === ip) found = m.mac;
    }
    return found;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // TFTP

  /**
   * Generated TFTP files are the signed chain's (src/boot/signed.ts); everything else comes from the static roots
   * (undionly.kpxe, snponly.efi, ...). `autoexec.ipxe` is the TFTP server's business (protocol.md Q14).
   */
  async tftpOpen(path: string, client: TftpClientRef): Promise<TftpOpenResult | null> {
    if (this.signedFiles === null || !SignedFiles.handles(path)) return null;
    return this.signedFiles.open(path, client.address, (mac, address) => renderGrubConfig(this, this.deps, mac, address));
  }

  tftpTransferred(report: TftpTransferReport): void {
    const mac = this.macForIp(report.client.address);
    const detail = {
      path: report.path,
      bytes: report.bytes,
      durationMs: report.durationMs,
      outcome: report.outcome,
      options: report.options,
      client: `${report.client.address}:${report.client.port}`,
      ...(report.detail !== undefined ? { detail: report.detail } : {}),
    };
    const stage = this.signedFiles === null ? null : secureBootStage(report.path, GRUB_ASSET_PREFIX);
    if (stage !== null) Object.assign(detail, { secureBootStage: stage });
    if (mac === null || this.registry.machineGet(mac) === null) {
      this.log.debug('tftp transfer from an address with no known machine', detail);
      return;
    }
    this.registry.eventAppend(mac, 'tftp', detail);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // HTTP: scripts

  bootstrapScript(_clientAddress: string): HttpDocument {
    this.bootstrapCache ??= { contentType: IPXE_CONTENT_TYPE, body: renderBootstrap(this.serverUrl) };
    return this.bootstrapCache;
  }

  async machineScript(req: IpxeScriptRequest): Promise<HttpDocument> {
    return Promise.resolve(this.machineScriptSync(req));
  }

  machineScriptSync(req: IpxeScriptRequest): HttpDocument {
    const mac = normalizeMac(req.mac);
    if (mac === null) return { contentType: IPXE_CONTENT_TYPE, body: renderUnknown(req.mac) };
    this.ipMap.set(req.clientAddress, mac);
    const machine = this.registry.machineGet(mac);
    if (machine === null) {
      if (this.log.enabled('debug')) this.log.debug('iPXE script for an unknown machine', { mac, client: req.clientAddress });
      return { contentType: IPXE_CONTENT_TYPE, body: renderUnknown(mac) };
    }
    const script = this.renderScript(machine, req.query, false);
    const { bootId, token } = script;
    if (script.variant === 'install' && bootId !== null && token !== null) {
      // The new boot's state, tokens and script event land together or not at all.
      this.registry.atomically(() => {
        this.armBoot(machine, bootId, token);
        this.registry.eventAppend(mac, 'ipxe-script', scriptEvent(script, req.clientAddress, 0));
      });
      return script.document;
    }
    // No state change: identical fetches within a short window are folded into one event.
    const admitted = this.scriptRepeats.admit(mac, script.variant, this.clock.now().getTime());
    if (admitted !== null) this.registry.eventAppend(mac, 'ipxe-script', scriptEvent(script, req.clientAddress, admitted.repeats));
    return script.document;
  }

  /** Revokes the previous tokens, stores the new one (hashed) and moves the machine to booting. */
  /** (Also used by the signed chain's grub.cfg, src/boot/signed.ts.) */
  armBoot(machine: Machine, bootId: string, token: string): void {
    const now = this.clock.now();
    const reason =
      machine.state === 'installed' || machine.state === 'configured'
        ? 'netboot in install mode always: reinstalling'
        : 'iPXE install script rendered';
    this.registry.machineTransition(machine.mac, 'booting', reason, { bootId });
    this.registry.tokenRevokeAll(machine.mac, now.toISOString());
    this.registry.tokenInsert({
      hash: hashToken(token),
      mac: machine.mac,
      bootId,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.settings.tokenTtlMinutes * 60_000).toISOString(),
      revokedAt: null,
    });
  }

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
    const host = this.deps.provisioning.hostByName(machine.host);
    if (host === null) {
      const msg = `install entry "${machine.host}" is not in the provisioning config`;
      if (preview) throw new PxedError('BOOT_HOST_NOT_FOUND', msg, { host: machine.host });
      return rendered('refused', renderRefusal(machine.mac, msg), { reason: 'host-missing', host: machine.host });
    }
    const hostname = host.install.network.hostname;
    const reinstall = machine.installMode === 'always';
    if ((machine.state === 'installed' || machine.state === 'configured') && !reinstall) {
      return this.localBootScript(machine.mac, hostname, this.platformOf(machine, query.platform));
    }
    if (!INSTALL_STATES.includes(machine.state) && !reinstall) {
      return rendered('refused', renderRefusal(machine.mac, `state ${machine.state}`), {});
    }
    const token = preview ? PREVIEW_TOKEN : mintToken();
    const bootId = preview ? 'preview' : newBootId();
    try {
      const boot = this.installBoot(host, machine.mac, token, query);
      const body = renderInstall({
        mac: machine.mac,
        hostname,
        os: host.install.os,
        bootId,
        kernelUrl: assetUrl(this.serverUrl, boot.kernel),
        initrdUrls: boot.initrds.map((i) => assetUrl(this.serverUrl, i)),
        args: boot.cmdline.split(/\s+/).filter((a) => a.length > 0),
      });
      return rendered('install', body, { os: host.install.os, bootId }, bootId, token);
    } catch (err) {
      if (preview || !isPxedError(err)) throw err;
      this.log.warn('cannot render install script', { mac: machine.mac, err: describeError(err) });
      return rendered('error', renderRefusal(machine.mac, `cannot render the install script: ${err.message}`), {
        code: err.code,
        error: err.message,
        ...(err.details?.field !== undefined ? { field: err.details.field } : {}),
      });
    }
  }

  installBoot(host: HostSpec, mac: string, token: string, query: Record<string, string | undefined>): InstallBoot {
    const ctx = installContext(this.serverUrl, token, mac, host.install.network.hostname);
    const buildarch = query.arch;
    if (buildarch !== undefined && /^[a-z0-9_]{1,16}$/.test(buildarch)) ctx.buildarch = buildarch;
    if (host.install.os === 'custom') {
      if (host.install.custom === null) {
        throw new PxedError('BOOT_SCRIPT_INVALID', `host ${host.name} has os custom but no custom section`, { field: 'custom' });
      }
      return renderCustomInstall(host.install.custom, ctx, this.settings.serverAddress, this.settings.httpPort);
    }
    const profile = this.deps.osProfiles[host.install.os];
    if (profile === undefined) {
      throw new PxedError('BOOT_PROFILE_NOT_FOUND', `no OS profile for os ${host.install.os}`, { field: 'os' });
    }
    return profile.renderInstall(host, ctx);
  }

  /** The memoised local-boot rendering for this MAC, hostname and platform (frozen, shared between requests). */
  private localBootScript(mac: string, hostname: string, platform: 'pcbios' | 'efi'): RenderedScript {
    const method: LocalBootMethod = platform === 'pcbios' ? this.settings.localBoot.bios : this.settings.localBoot.efi;
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

  // ---------------------------------------------------------------------------------------------------------------
  // HTTP: token routes

  private resolveToken(token: string): ResolvedToken | null {
    if (!isTokenShaped(token)) return null;
    const t = this.registry.tokenGet(hashToken(token));
    if (t === null) return null;
    const machine = this.registry.machineGet(t.mac);
    if (machine === null) return null;
    let status: ResolvedToken['status'] = 'live';
    if (Date.parse(t.expiresAt) <= this.clock.now().getTime()) status = 'expired';
    else if (t.revokedAt !== null) status = 'revoked';
    return { token: t, machine, status };
  }

  private refuseToken(r: ResolvedToken, route: string, clientAddress: string): null {
    this.registry.eventAppend(r.machine.mac, 'token', {
      outcome: r.status,
      route,
      bootId: r.token.bootId,
      client: clientAddress,
    });
    return null;
  }

  async tokenArtifact(req: TokenArtifactRequest): Promise<HttpDocument | null> {
    return Promise.resolve(this.tokenArtifactSync(req));
  }

  tokenArtifactSync(req: TokenArtifactRequest): HttpDocument | null {
    const r = this.resolveToken(req.token);
    if (r === null) return null;
    const route = `${req.family}/${req.name}`;
    if (r.status !== 'live') return this.refuseToken(r, route, req.clientAddress);
    const { machine } = r;
    const host = machine.host === null ? null : this.deps.provisioning.hostByName(machine.host);
    if (host === null) return null;
    const profile = this.deps.osProfiles[host.install.os];
    if (profile === undefined) return null;
    const ctx = installContext(this.serverUrl, req.token, machine.mac, host.install.network.hostname);
    let doc: HttpDocument | null;
    try {
      doc = profile.renderArtifact(req.family, req.name, host, ctx);
    } catch (err) {
      if (isPxedError(err, 'ARTIFACT_INVALID')) {
        const field = typeof err.details?.field === 'string' ? err.details.field : 'unknown field';
        const reason = `generated ${route} is invalid (${field}): ${err.message}`;
        this.fail(machine, reason, { route, field, bootId: r.token.bootId });
      }
      throw err;
    }
    if (doc === null) return null;
    this.ipMap.set(req.clientAddress, machine.mac);
    const bytes = Buffer.byteLength(doc.body);
    this.registry.atomically(() => {
      this.registry.eventAppend(machine.mac, 'artifact', { route, bootId: r.token.bootId, bytes, client: req.clientAddress });
      if (machine.state === 'booting' || machine.state === 'stalled') {
        this.registry.machineTransition(machine.mac, 'installing', `installer fetched ${route}`, { bootId: r.token.bootId });
      }
    });
    return doc;
  }

  /** → failed (when the lifecycle allows it) and the install's tokens are revoked. */
  private fail(machine: Machine, reason: string, detail: Record<string, unknown>): void {
    this.registry.atomically(() => {
      if (ACTIVE_STATES.includes(machine.state)) this.registry.machineTransition(machine.mac, 'failed', reason, detail);
      else this.registry.eventAppend(machine.mac, 'error', { reason, ...detail });
      this.registry.tokenRevokeAll(machine.mac, this.nowIso());
    });
  }

  async phoneHome(req: PhoneHomeRequest): Promise<{ state: string } | null> {
    return Promise.resolve(this.phoneHomeSync(req));
  }

  /** Throws BOOT_BAD_INPUT (→ 400) for a body that is neither a Subiquity event nor a status report. */
  phoneHomeSync(req: PhoneHomeRequest): { state: string } | null {
    const r = this.resolveToken(req.token);
    if (r === null) return null;
    const { machine, token } = r;
    if (r.status !== 'live') {
      // Idempotence: the install already ended (which revoked the token) and the installer repeats itself.
      if (r.status === 'revoked' && DONE_STATES.includes(machine.state)) {
        const report = parsePhoneHome(req.body);
        this.registry.eventAppend(machine.mac, 'phone-home', { bootId: token.bootId, after: machine.state, ...report, client: req.clientAddress });
        return { state: machine.state };
      }
      return this.refuseToken(r, 'phone-home', req.clientAddress);
    }
    const report = parsePhoneHome(req.body);
    const detail = { bootId: token.bootId };
    let outcome: 'installed' | 'failed' | 'progress';
    let why: string;
    if (report.type === 'status') {
      outcome = report.status;
      why = `installer reported ${report.status}${report.detail !== null ? `: ${report.detail}` : ''}`;
    } else if (report.eventType === 'finish' && report.result === 'FAIL' && report.name.startsWith('subiquity/')) {
      outcome = 'failed';
      why = `Subiquity ${report.name} failed${report.description !== null ? `: ${report.description}` : ''}`;
    } else if (
      report.eventType === 'finish' &&
      (report.result === 'SUCCESS' || report.result === 'WARN') &&
      isSubiquityLateStage(report.name)
    ) {
      outcome = 'installed';
      why = `Subiquity ${report.name} finished (${report.result})`;
    } else {
      outcome = 'progress';
      why = `installer reported progress (${report.eventType} ${report.name})`;
    }
    const state = machine.state;
    // The report and the state change it causes land together or not at all.
    this.registry.atomically(() => {
      this.registry.eventAppend(machine.mac, 'phone-home', { bootId: token.bootId, ...report, client: req.clientAddress });
      if (outcome === 'installed') {
        if (ACTIVE_STATES.includes(state)) this.registry.machineTransition(machine.mac, 'installed', why, detail);
        this.registry.tokenRevokeAll(machine.mac, this.nowIso());
      } else if (outcome === 'failed') {
        this.fail(machine, why, detail);
      } else if (state === 'booting' || state === 'stalled') {
        this.registry.machineTransition(machine.mac, 'installing', why, detail);
      }
    });
    return { state: this.registry.machineGet(machine.mac)?.state ?? state };
  }

  assetServed(clientAddress: string, path: string, bytes: number, status: number): void {
    const mac = this.macForIp(clientAddress);
    if (mac === null || this.registry.machineGet(mac) === null) {
      if (this.log.enabled('debug')) this.log.debug('asset served to an address with no known machine', { client: clientAddress, path, bytes, status });
      return;
    }
    this.registry.eventAppend(mac, 'asset', { path, bytes, status, client: clientAddress });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Watchdog

  /**
   * Moves booting/installing machines with no event (and no state change) for settings.watchdogMinutes to
   * `stalled`, naming the last thing they did. Returns the MACs it moved.
   */
  checkWatchdog(): string[] {
    const now = this.clock.now().getTime();
    const limitMs = this.settings.watchdogMinutes * 60_000;
    const moved: string[] = [];
    for (const state of WATCHED_STATES) {
      for (const m of this.registry.machineList({ state })) {
        const changed = Date.parse(m.stateChangedAt);
        const last = this.lastEvent.get(m.mac);
        const lastMs = Math.max(Number.isFinite(changed) ? changed : 0, last?.ms ?? 0);
        if (now - lastMs < limitMs) continue;
        const minutes = Math.floor((now - lastMs) / 60_000);
        const lastKind = last !== undefined && last.ms >= changed ? last.kind : 'state';
        const reason = `no progress for ${minutes} min while ${m.state} (last event: ${lastKind})`;
        try {
          this.registry.machineTransition(m.mac, 'stalled', reason, {
            watchdogMinutes: this.settings.watchdogMinutes,
            lastEventAt: new Date(lastMs).toISOString(),
            lastEvent: lastKind,
          });
          moved.push(m.mac);
          this.log.warn('install stalled', { mac: m.mac, reason });
        } catch (err) {
          this.log.warn('watchdog could not mark machine stalled', { mac: m.mac, err: describeError(err) });
        }
      }
    }
    return moved;
  }
}
