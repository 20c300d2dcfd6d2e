// Boot events: what the registry records on a machine's timeline (DHCP, TFTP, scripts, artifacts, phone-home,
// state changes), as one typed union. Producers build events with the constructors in `BootEvents` (one per kind);
// consumers narrow on `kind` and read typed details. Details keep any extra keys a producer adds (JSON objects).

import type { MachineState } from './machine.js';
import type { SecureBootStage } from './secure-boot.js';

type Extra = Readonly<Record<string, unknown>>;

/** A state change, written by the registry in the same transaction as the change. */
export interface StateDetail extends Extra {
  from: MachineState | null;
  to: MachineState;
  reason: string;
  /** Present when the change re-armed the machine (→ registered): how many live boot tokens it revoked. */
  tokensRevoked?: number;
}

export interface DhcpDetail extends Extra {
  stage: string;
  xid: number;
  arch: number | null;
  firmware: string;
  ipxe: boolean;
  strategy: string | null;
  bootFile: string | null;
  ignored?: string;
}

export interface DiscoveredDetail extends Extra {
  stage: string;
  arch: number | null;
  firmware: string;
  ipxe: boolean;
  uuid: string | null;
  vendorClass: string | null;
}

export interface TftpDetail extends Extra {
  path: string;
  bytes: number;
  durationMs: number;
  outcome: string;
  client: string;
  /** Set when the file is one of the signed Secure Boot chain's (model/secure-boot.ts). */
  secureBootStage?: SecureBootStage;
}

export interface ScriptDetail extends Extra {
  variant: string;
  client: string;
  repeats?: number;
}

/** The signed chain's per-MAC grub.cfg (src/boot/signed.ts): the same variants as the iPXE script. */
export interface GrubConfigDetail extends Extra {
  variant: string;
  client: string;
  /** Present for an install: the boot the config armed (the token's boot). */
  bootId?: string;
}

export interface TokenDetail extends Extra {
  outcome: string;
  route: string;
  bootId: string;
  client: string;
}

export interface ArtifactDetail extends Extra {
  route: string;
  bootId: string;
  bytes: number;
  client: string;
}

export interface ErrorDetail extends Extra {
  reason: string;
}

export interface PhoneHomeDetail extends Extra {
  bootId: string;
  client: string;
}

export interface AssetDetail extends Extra {
  path: string;
  bytes: number;
  status: number;
  client: string;
}

/** The daemon's post-install stage (src/orchestrator/ansible/daemon.ts): started, ok, failed or interrupted. */
export interface PostInstallDetail extends Extra {
  phase: 'started' | 'ok' | 'failed' | 'interrupted';
}

/** The config sync (start-up and SIGHUP, machines/operations.ts) changed or flagged this machine. */
export interface ConfigDetail extends Extra {
  /** entry: the config gave it another install entry; install-mode: the entry's install_mode changed; orphaned:
   *  its entry left the config (or names another MAC) and the machine has history, so it was kept. */
  change: 'entry' | 'install-mode' | 'orphaned';
  host: string | null;
  reason: string;
}

/** What a producer hands the registry: the kind and its detail. */
export type BootEventBody =
  | { kind: 'state'; detail: StateDetail }
  | { kind: 'dhcp-offer'; detail: DhcpDetail }
  | { kind: 'dhcp-ack'; detail: DhcpDetail }
  | { kind: 'discovered'; detail: DiscoveredDetail }
  | { kind: 'tftp'; detail: TftpDetail }
  | { kind: 'ipxe-script'; detail: ScriptDetail }
  | { kind: 'grub-cfg'; detail: GrubConfigDetail }
  | { kind: 'token'; detail: TokenDetail }
  | { kind: 'artifact'; detail: ArtifactDetail }
  | { kind: 'error'; detail: ErrorDetail }
  | { kind: 'phone-home'; detail: PhoneHomeDetail }
  | { kind: 'asset'; detail: AssetDetail }
  | { kind: 'post-install'; detail: PostInstallDetail }
  | { kind: 'config'; detail: ConfigDetail };

export type BootEventKind = BootEventBody['kind'];

export const BOOT_EVENT_KINDS: readonly BootEventKind[] = [
  'state',
  'dhcp-offer',
  'dhcp-ack',
  'discovered',
  'tftp',
  'ipxe-script',
  'grub-cfg',
  'token',
  'artifact',
  'error',
  'phone-home',
  'asset',
  'post-install',
  'config',
];

export function isBootEventKind(value: unknown): value is BootEventKind {
  return typeof value === 'string' && (BOOT_EVENT_KINDS as readonly string[]).includes(value);
}

/** A recorded event: the body plus where it sits in the timeline. */
export type BootEvent = BootEventBody & {
  /** Monotonic across the whole registry; SSE streams resume from it. */
  readonly id: number;
  readonly mac: string;
  /** ISO-8601 UTC with milliseconds. */
  readonly time: string;
};

/** One constructor per kind. */
export const BootEvents = {
  state: (from: MachineState | null, to: MachineState, reason: string, extra: Extra = {}): BootEventBody => ({
    kind: 'state',
    detail: { ...extra, from, to, reason },
  }),
  dhcp: (kind: 'dhcp-offer' | 'dhcp-ack', detail: DhcpDetail): BootEventBody => ({ kind, detail }),
  discovered: (detail: DiscoveredDetail): BootEventBody => ({ kind: 'discovered', detail }),
  tftp: (detail: TftpDetail): BootEventBody => ({ kind: 'tftp', detail }),
  script: (detail: ScriptDetail): BootEventBody => ({ kind: 'ipxe-script', detail }),
  grubConfig: (detail: GrubConfigDetail): BootEventBody => ({ kind: 'grub-cfg', detail }),
  token: (detail: TokenDetail): BootEventBody => ({ kind: 'token', detail }),
  artifact: (detail: ArtifactDetail): BootEventBody => ({ kind: 'artifact', detail }),
  error: (reason: string, extra: Extra = {}): BootEventBody => ({ kind: 'error', detail: { ...extra, reason } }),
  phoneHome: (detail: PhoneHomeDetail): BootEventBody => ({ kind: 'phone-home', detail }),
  asset: (detail: AssetDetail): BootEventBody => ({ kind: 'asset', detail }),
  postInstall: (detail: PostInstallDetail): BootEventBody => ({ kind: 'post-install', detail }),
  config: (detail: ConfigDetail): BootEventBody => ({ kind: 'config', detail }),
} as const;

/** A one-line human summary of an event (CLI `machines events`, logs). */
export function describeEvent(e: BootEventBody): string {
  switch (e.kind) {
    case 'state':
      return `${e.detail.from ?? '-'} -> ${e.detail.to} (${e.detail.reason})`;
    default:
      return Object.keys(e.detail).length === 0 ? '' : JSON.stringify(e.detail);
  }
}
