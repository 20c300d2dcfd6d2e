// The ports src/http owns: what the HTTP side needs from the rest of pxed. src/http renders what these return; it
// never reads SQLite or config itself (test/architecture/imports.test.ts). The boot-facing half is `HttpBootPolicy`,
// satisfied structurally by BootPolicy (src/boot/policy.ts); the operator-facing half is `AdminApi`, satisfied by
// MachineAdmin (src/boot/admin.ts). app.ts wires them.

import type { Logger } from '../log.js';
import type { HttpMetrics } from './metrics.js';
import type { HttpLimits } from './limits.js';
import type { InstallMode, Machine, MachineOverrides, MachineState } from '../model/machine.js';
import type { BootEvent } from '../model/events.js';
import type { PreviewArtifact } from '../model/artifacts.js';

// ---- Boot-facing port


/** A document the policy produced for an HTTP client. */
export interface HttpDocument {
  contentType: string;
  body: string | Buffer;
}

export interface IpxeScriptRequest {
  /** From the URL; the policy validates and normalises it. */
  mac: string;
  /** iPXE settings the bootstrap script passes along (${buildarch}, ${platform}, ${uuid}, ...), unvalidated. */
  query: Record<string, string | undefined>;
  clientAddress: string;
}

/** Artifacts an installer fetches with its per-boot token, e.g. 'user-data', 'meta-data', 'install.sh'. */
export interface TokenArtifactRequest {
  /** 'nocloud' | 'nixos' */
  family: string;
  token: string;
  name: string;
  clientAddress: string;
}

export interface PhoneHomeRequest {
  token: string;
  /** Parsed JSON body: a Subiquity reporting event or {status: 'installed'|'failed', detail?}. */
  body: unknown;
  clientAddress: string;
}

export interface HttpBootPolicy {
  /** GET /boot.ipxe: the bootstrap every iPXE client gets. */
  bootstrapScript(clientAddress: string): HttpDocument;
  /**
   * GET /ipxe/:mac: always a script (install, local boot, discovered menu, or echo+exit for unknown machines).
   * Synchronous, like every method here: errors are thrown.
   */
  machineScript(req: IpxeScriptRequest): HttpDocument;
  /**
   * Optional: runs `fn` (several machineScript calls) so that what they write lands in one registry transaction, or
   * none of it. A call inside that throws has its own writes undone and the others go on. Throws REGISTRY_* without
   * calling `fn` when the transaction cannot begin, and after it when the commit fails: then nothing `fn` wrote
   * happened, and no document it returned may be sent.
   */
  inOneWrite?(fn: () => void): void;
  /** Token routes; null = 404 (unknown/expired token or unknown artifact; an expired known token is recorded). */
  tokenArtifact(req: TokenArtifactRequest): HttpDocument | null;
  /**
   * Optional cheap check run before a phone-home body is read: false = answer 404 without reading it (unknown token,
   * or a known one presented from an address it is not bound to). Writes nothing for an unknown token (it sees
   * hostile traffic first); a known token from the wrong address is recorded, rate-limited (src/boot/guard.ts).
   */
  tokenKnown?(token: string, clientAddress: string): boolean;
  /** Phone-home; null = 404 as above. Idempotent. */
  phoneHome(req: PhoneHomeRequest): { state: string } | null;
  /** An asset (kernel/initrd/...) was fully or partly served to clientAddress; recorded on the timeline. */
  assetServed(clientAddress: string, path: string, bytes: number, status: number): void;
}

// ---- Operator-facing port

/** A value or a promise of it: admin implementations may be synchronous (better-sqlite3) or not. */
export type MaybePromise<T> = T | Promise<T>;

/** Artifacts the preview route renders (without minting a live token): the one table, model/artifacts.ts. */
export { PREVIEW_ARTIFACT_NAMES, type PreviewArtifact } from '../model/artifacts.js';

export interface AdminMachineCreate {
  /** Lower-case colon form (the API normalises before calling). */
  mac: string;
  /** Install entry name (install_config.yaml key). */
  host: string;
  installMode?: InstallMode;
  overrides?: MachineOverrides;
  /** Register even though the entry's configuration names other MACs (refused with the reason otherwise). */
  force?: boolean;
}

export interface AdminMachinePatch {
  host?: string;
  installMode?: InstallMode;
  overrides?: MachineOverrides;
  /** As AdminMachineCreate.force, for a change of install entry. */
  force?: boolean;
}

/** What `pxed provision` reports of its post stage (validated by the API's schema). */
export interface AdminPostInstallReport {
  phase: 'started' | 'ok' | 'failed';
  host?: string;
  method?: string;
  /** Ansible's play recap: ok, changed, unreachable, failed, skipped (rescued, ignored). */
  stats?: { ok: number; changed: number; unreachable: number; failed: number; skipped: number; rescued?: number; ignored?: number } | null;
  logPath?: string;
  durationMs?: number;
  exitCode?: number | null;
  error?: string;
}

export interface AdminEventQuery {
  /** Only events with id > afterId. */
  afterId?: number;
  limit?: number;
}

/**
 * The operator-facing machine API behind /api/v1.
 *
 * Errors: throw PxedError with a code; its HTTP status is the one error table's (src/errors.ts ERROR_STATUS), and
 * src/http/errors.ts shapes the body (details.field, if set, prefixes a 400 message; other 5xx carry no detail).
 * Messages reach the operator verbatim, so they must not carry secrets.
 * Satisfied structurally by MachineAdmin (src/boot/admin.ts); test/http/api.test.ts checks that at compile time.
 * MACs arrive already normalised (lower-case colon form).
 */
export interface AdminApi {
  list(filter?: { state?: MachineState }): MaybePromise<Machine[]>;
  /** null (or a *_NOT_FOUND error) = no such machine (→ 404). */
  get(mac: string): MaybePromise<Machine | null>;
  create(input: AdminMachineCreate): MaybePromise<Machine>;
  update(mac: string, patch: AdminMachinePatch): MaybePromise<Machine>;
  /** false (or a *_NOT_FOUND error) = no such machine (→ 404); void or true = deleted. */
  delete(mac: string): MaybePromise<boolean | void>;
  /** Re-arms the machine (→ registered, tokens revoked). */
  reinstall(mac: string, reason?: string): MaybePromise<Machine>;
  /**
   * Records a post stage that ran outside the daemon (`pxed provision --server`): its `post-install` event and the
   * state it implies. *_NOT_FOUND for an unknown machine; a conflict for one without an install entry.
   */
  postInstall(mac: string, report: AdminPostInstallReport): MaybePromise<Machine>;
  /** One machine's events, oldest first. Throws *_NOT_FOUND for an unknown machine. */
  events(mac: string, opts?: AdminEventQuery): MaybePromise<BootEvent[]>;
  /** Every machine's events, oldest first (SSE resume with Last-Event-ID). */
  allEvents(opts?: AdminEventQuery): MaybePromise<BootEvent[]>;
  /** Called after each committed event; returns an unsubscribe function. */
  subscribe(listener: (event: BootEvent) => void): () => void;
  /**
   * Renders an artifact as the machine would get it, without minting a live token. null (or *_NOT_FOUND) = not
   * applicable (→ 404). `query` carries the iPXE settings to render with (buildarch, platform, uuid, ...).
   */
  preview(mac: string, artifact: PreviewArtifact, query?: Record<string, string | undefined>): MaybePromise<HttpDocument | null>;
  /** Optional: machine counts by state for /metrics (otherwise derived from list()). */
  counts?(): MaybePromise<Partial<Record<MachineState, number>>>;
  /** Optional: the install entries of the provisioning config, for the admin page's add/adopt/edit forms. */
  entries?(): MaybePromise<readonly EntrySummary[]>;
}

/** One install entry as the admin page lists it. */
export interface EntrySummary {
  name: string;
  os: string;
  version: string | null;
  /** The installed system's hostname. */
  hostname: string;
  /** The MACs the entry's configuration names (its NICs); registering another MAC for it needs `force`. */
  macs: string[];
}

export interface HttpDeps {
  policy: HttpBootPolicy;
  admin: AdminApi;
  /** Folders served under /assets/ (first root holding the path wins). */
  assetRoots: readonly string[];
  /** Folders with iPXE binaries (e.g. /usr/lib/ipxe), served under /assets/ipxe/ before the asset roots. */
  ipxeBinRoots: readonly string[];
  /** Bearer token for /api/v1, already resolved by the app. null = every /api/v1 request answers 401. */
  adminToken: string | null;
  logger: Logger;
  /** Request metrics on the daemon's registry (the app wires machines, DHCP, TFTP into it); default: HTTP only. */
  metrics?: HttpMetrics;
  /** /readyz: true once every service the daemon needs is up. */
  ready: () => boolean;
  /** /readyz: null while the registry can be written, else why not (→ 503 "unhealthy"). */
  health?: () => string | null;
  /** The admin page's files (default: the repository's ui/ folder). */
  uiDir?: string;
  /** SSE heartbeat comment interval; default 15 s. */
  sseHeartbeatMs?: number;
  /** Connection caps, timeouts and body limits; DEFAULT_HTTP_LIMITS (limits.ts) for what is not given. */
  limits?: Partial<HttpLimits>;
}

export interface HttpServiceOptions {
  host: string;
  /** 0 = any free port (tests); see HttpService.port after start(). */
  port: number;
}
