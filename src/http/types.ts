// What the HTTP side needs from the rest of pxed. src/http renders what these return; it never reads SQLite or
// config itself. The boot-facing half is `HttpBootPolicy` (src/boot/types.ts); the operator-facing half is
// `AdminApi` below, satisfied structurally by the MachineAdmin class in src/boot/admin.ts.

import type { HttpBootPolicy, HttpDocument } from '../boot/types.js';
import type { Logger } from '../log.js';
import type { EntrySummary } from './ui/page-api.js';
import type { BootEvent, InstallMode, Machine, MachineOverrides, MachineState } from '../registry/types.js';

/** A value or a promise of it: admin implementations may be synchronous (better-sqlite3) or not. */
export type MaybePromise<T> = T | Promise<T>;

/** Artifacts the preview route renders (without minting a live token). */
export const PREVIEW_ARTIFACTS = ['ipxe', 'user-data', 'meta-data', 'nixos-install', 'nixos-config', 'nixos-host'] as const;
export type PreviewArtifact = (typeof PREVIEW_ARTIFACTS)[number];

export interface AdminMachineCreate {
  /** Lower-case colon form (the API normalises before calling). */
  mac: string;
  /** Install entry name (install_config.yaml key). */
  host: string;
  installMode?: InstallMode;
  overrides?: MachineOverrides;
}

export interface AdminMachinePatch {
  host?: string;
  installMode?: InstallMode;
  overrides?: MachineOverrides;
}

export interface AdminEventQuery {
  /** Only events with id > afterId. */
  afterId?: number;
  limit?: number;
}

/**
 * The operator-facing machine API behind /api/v1.
 *
 * Errors: throw PxedError with a code; the HTTP layer maps codes by suffix (src/http/errors.ts) —
 *   *_NOT_FOUND → 404; *_EXISTS, *_CONFLICT, LIFECYCLE_ILLEGAL → 409; *_BAD_INPUT → 400 (details.field, if set,
 *   prefixes the message); ARTIFACT_INVALID, BOOT_SCRIPT_INVALID → 500 with the message —
 * and anything else to 500 without detail. Messages reach the operator verbatim, so they must not carry secrets.
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
  /** /readyz: true once every service the daemon needs is up. */
  ready: () => boolean;
  /** The install entries the admin page offers (provisioning config); none if omitted. */
  entries?: () => readonly EntrySummary[];
  /** The admin page's files (default: the repository's ui/ folder). */
  uiDir?: string;
  /** SSE heartbeat comment interval; default 15 s. */
  sseHeartbeatMs?: number;
}

export interface HttpServiceOptions {
  host: string;
  /** 0 = any free port (tests); see HttpService.port after start(). */
  port: number;
}
