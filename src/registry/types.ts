// The machine registry: the only module that touches SQLite. Noun-verb methods, all synchronous
// (better-sqlite3), every write in one transaction. MACs are lower-case colon form in and out.

export const MACHINE_STATES = [
  'discovered',
  'registered',
  'booting',
  'installing',
  'installed',
  'configured',
  'failed',
  'stalled',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/** 'once': after `installed` the machine boots its local disk; 'always': every netboot reinstalls. */
export type InstallMode = 'once' | 'always';

export interface MachineOverrides {
  /** UEFI iPXE binary handed to native PXE ('snponly.efi' default; 'ipxe.efi' for firmware without a usable SNP). */
  efiBinary?: string;
  /** UEFI :67 anchor strategy for this machine (see boot/types.ts UefiStrategy). */
  uefiStrategy?: 'binl' | 'direct';
  /** Boot chain for this machine (src/boot/chain.ts): 'ipxe' or 'signed' (Secure Boot shim → GRUB). */
  bootChain?: 'ipxe' | 'signed';
}

/** A machine as the registry holds it. Read-only: machineGet hands out its cached (frozen) objects. */
export interface Machine {
  readonly mac: string;
  /** Install entry name (install_config.yaml key); null for discovered machines. */
  readonly host: string | null;
  readonly state: MachineState;
  readonly installMode: InstallMode;
  readonly arch: number | null;
  readonly firmware: string | null;
  readonly uuid: string | null;
  readonly vendorClass: string | null;
  /** Last IPv4 address seen for this MAC. */
  readonly ip: string | null;
  readonly overrides: Readonly<MachineOverrides>;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly stateChangedAt: string;
}

export interface MachineCreate {
  mac: string;
  host: string | null;
  state?: 'discovered' | 'registered';
  installMode?: InstallMode;
  arch?: number | null;
  firmware?: string | null;
  uuid?: string | null;
  vendorClass?: string | null;
  overrides?: MachineOverrides;
}

export type MachinePatch = {
  -readonly [K in 'host' | 'installMode' | 'arch' | 'firmware' | 'uuid' | 'vendorClass' | 'ip' | 'overrides']?: Machine[K];
};

export interface BootEvent {
  /** Monotonic across the whole registry; SSE streams resume from it. */
  id: number;
  mac: string;
  /** ISO-8601 UTC with milliseconds. */
  time: string;
  /** e.g. 'state', 'dhcp-offer', 'dhcp-ack', 'tftp', 'ipxe-script', 'asset', 'artifact', 'phone-home', 'token'. */
  kind: string;
  detail: Record<string, unknown>;
}

export interface BootToken {
  /** sha256 hex of the token; the token itself is never stored. */
  hash: string;
  mac: string;
  /** Identifies the boot (one iPXE install script rendering). */
  bootId: string;
  createdAt: string;
  expiresAt: string;
  /** Set when the install completes, the machine is re-armed, or the token is replaced. */
  revokedAt: string | null;
}

export interface Lease {
  ip: string;
  mac: string;
  hostname: string | null;
  state: 'offered' | 'bound' | 'released' | 'declined';
  expiresAt: string;
  updatedAt: string;
}

export interface MachineRegistry {
  /**
   * Runs `fn` so that every registry write it makes commits together or not at all (one transaction); events reach
   * subscribers after the commit. Writes inside keep their own checks, and one that fails is undone whole (even if
   * `fn` catches its error and goes on); an error thrown out of `fn` undoes them all.
   */
  atomically<T>(fn: () => T): T;
  machineGet(mac: string): Machine | null;
  machineList(filter?: { state?: MachineState }): Machine[];
  /** Throws PxedError REGISTRY_EXISTS if the MAC is present. Appends a 'state' event. */
  machineCreate(input: MachineCreate): Machine;
  /** Throws REGISTRY_NOT_FOUND. Does not change state. */
  machineUpdate(mac: string, patch: MachinePatch): Machine;
  /** Deletes the machine with its events and tokens. Returns false if it did not exist. */
  machineDelete(mac: string): boolean;
  /**
   * Moves a machine to `to` if the lifecycle allows it (throws LIFECYCLE_ILLEGAL otherwise, nothing written),
   * appending a 'state' event {from, to, reason, ...detail} in the same transaction.
   */
  machineTransition(mac: string, to: MachineState, reason: string, detail?: Record<string, unknown>): Machine;

  eventAppend(mac: string, kind: string, detail?: Record<string, unknown>): BootEvent;
  /** Oldest first. */
  eventList(mac: string, opts?: { afterId?: number; limit?: number }): BootEvent[];
  /** Every machine's events after `afterId`, oldest first. */
  eventListAll(opts?: { afterId?: number; limit?: number }): BootEvent[];
  /** Called synchronously after each committed event; returns an unsubscribe function. */
  eventSubscribe(listener: (event: BootEvent) => void): () => void;

  tokenInsert(token: BootToken): void;
  tokenGet(hash: string): BootToken | null;
  /** Revokes every live token of the MAC; returns how many. */
  tokenRevokeAll(mac: string, at?: string): number;

  leaseGet(ip: string): Lease | null;
  leaseForMac(mac: string): Lease | null;
  leaseList(): Lease[];
  leaseUpsert(lease: Lease): void;
  leaseDelete(ip: string): void;

  close(): void;
}
