// The machine: the shared vocabulary every layer may import (registry, boot, http, cli, orchestrator). Pure: types,
// the state list and the lifecycle rule; no I/O.

import { PxedError } from '../errors.js';

export const MACHINE_STATES = [
  'discovered',
  'registered',
  'booting',
  'installing',
  'installed',
  'post-installing',
  'configured',
  'failed',
  'stalled',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/** 'once': after `installed` the machine boots its local disk; 'always': every netboot reinstalls. */
export const INSTALL_MODES = ['once', 'always'] as const;
export type InstallMode = (typeof INSTALL_MODES)[number];

/**
 * UEFI PXE anchor strategies on :67 (docs/protocol.md §3).
 * - 'binl': no option 43 in the :67 proxy OFFER; EDK2 follows with a REQUEST to :4011 which we ACK with the boot file.
 * - 'direct': 43 = {6: 8} ("boot file present, no discovery") plus siaddr/file in the :67 OFFER.
 * BIOS PXE ROMs always get 'direct'.
 */
export const UEFI_STRATEGIES = ['binl', 'direct'] as const;
export type UefiStrategy = (typeof UEFI_STRATEGIES)[number];
/** Boot chains (src/boot/chain.ts): iPXE, or the signed Secure Boot chain shim → GRUB. */
export const BOOT_CHAINS = ['ipxe', 'signed'] as const;
export type BootChain = (typeof BOOT_CHAINS)[number];

/** UEFI iPXE binaries a machine may be given: 'snponly.efi' (default) or 'ipxe.efi' for firmware without a usable SNP. */
export const EFI_BINARIES = ['snponly.efi', 'ipxe.efi'] as const;

export interface MachineOverrides {
  /** UEFI iPXE binary handed to native PXE ('snponly.efi' default; 'ipxe.efi' for firmware without a usable SNP). */
  efiBinary?: string;
  /** UEFI :67 anchor strategy for this machine (UefiStrategy above). */
  uefiStrategy?: UefiStrategy;
  /** Boot chain for this machine (src/boot/chain.ts): 'ipxe' or 'signed' (Secure Boot shim → GRUB). */
  bootChain?: BootChain;
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


// The lifecycle as a pure table. The registry validates every state change against it
// (machineTransition), so an illegal transition is refused before anything is written.
//
//   from \ to    | disc | reg | boot | inst'ing | inst'd | conf | failed | stalled
//   -------------+------+-----+------+----------+--------+------+--------+--------
//   discovered   |      |  A  |      |          |        |      |        |
//   registered   |      |  R* |  B   |          |        |      |        |
//   booting      |      |  R  |  B*  |    I     |   P    |      |   F    |   W
//   installing   |      |  R  |  B   |    I*    |   P    |      |   F    |   W
//   installed    |      |  R  |  M   |          |        |  C   |        |
//   configured   |      |  R  |  M   |          |        |      |        |
//   failed       |      |  R  |      |          |        |      |        |
//   stalled      |      |  R  |  B   |    I     |   P    |      |   F    |
//
//   A  an operator (or the API) gives a discovered machine an install entry.
//   B  the machine netboots into its installer: proxy offer / iPXE install script rendered.
//      booting → booting (B*) is a re-boot of an unfinished install (new boot, new token) and is recorded;
//      installing → booting is the installer (or the operator) rebooting the machine mid-install.
//   I  its installer fetched its generated config. installing → installing (I*) is further progress of the
//      same install (a later config fetch); it refreshes stateChangedAt, which is what the watchdog watches.
//   P  phone-home success. booting → installed is legal because profiles without a generated config
//      (`custom`) have no "installing" signal: the phone-home is the first word from the installer.
//   C  post-install configuration done (orchestrator).
//   post-installing (not in the grid): installed → post-installing when the daemon's Ansible stage starts (also
//      configured → post-installing for a re-run); then → configured (ok) or → failed (the run failed, or it was
//      interrupted by a daemon restart: the start-up marks it so, never back to a silent `installed`);
//      → registered/booting as from installed.
//   F  the installer reported failure.
//   W  the install watchdog: no progress for the configured time while booting/installing.
//   M  an 'always'-mode machine netbooting again reinstalls without an operator. The policy takes this edge
//      only for installMode 'always'; a 'once' machine boots its local disk and stays installed/configured.
//   R  `reinstall` re-arms the machine. registered → registered (R*) makes reinstall idempotent.
//      Re-arming revokes the machine's live boot tokens (the registry does it in the same transaction).
//
// Two judgement calls, stated so operators know what to expect:
//   - `failed` is hard: it is the installer's own report, so only an operator's `reinstall` leaves it. A failed
//     machine that netboots again does not silently retry (a broken installer would loop forever and bury the
//     failure); the policy tells it so and exits.
//   - `stalled` is soft: it is our timer's guess, not a report. Any real sign of life (a netboot, a config
//     fetch, a phone-home success or failure) moves it on as if the watchdog had not fired.
// Nothing ever returns to `discovered`. Repeated reports that change nothing (a second phone-home success)
// are not transitions: callers treat "already there" as a no-op and may append a non-state event instead.


const TABLE: Readonly<Record<MachineState, readonly MachineState[]>> = {
  discovered: ['registered'],
  registered: ['registered', 'booting'],
  booting: ['registered', 'booting', 'installing', 'installed', 'failed', 'stalled'],
  installing: ['registered', 'booting', 'installing', 'installed', 'failed', 'stalled'],
  installed: ['registered', 'booting', 'post-installing', 'configured'],
  'post-installing': ['registered', 'booting', 'configured', 'failed'],
  configured: ['registered', 'booting', 'post-installing'],
  failed: ['registered'],
  stalled: ['registered', 'booting', 'installing', 'installed', 'failed'],
};

/** States the install watchdog watches: a machine in one of them too long without progress becomes `stalled`. */
export const WATCHED_STATES: readonly MachineState[] = ['booting', 'installing'];
/** States whose netboot (in install mode once) boots the local disk: the OS is on it. */
export const LOCAL_STATES: readonly MachineState[] = ['installed', 'post-installing', 'configured'];

/**
 * States `reinstall` (→ registered) accepts. discovered → registered is the first assignment of an install
 * entry, not a reinstall: a discovered machine has nothing to re-arm.
 */
export const REINSTALLABLE_STATES: readonly MachineState[] = MACHINE_STATES.filter(
  (s) => s !== 'discovered' && TABLE[s].includes('registered'),
);

export function isMachineState(value: string): value is MachineState {
  return (MACHINE_STATES as readonly string[]).includes(value);
}

export function isInstallMode(value: string): value is InstallMode {
  return (INSTALL_MODES as readonly string[]).includes(value);
}

/** The states a machine in `from` may move to (including itself where a self-loop is legal). */
export function nextStates(from: MachineState): readonly MachineState[] {
  return TABLE[from];
}

export function canTransition(from: MachineState, to: MachineState): boolean {
  return TABLE[from].includes(to);
}

/** Throws PxedError LIFECYCLE_ILLEGAL (details {from, to, mac?}) unless `from → to` is in the table. */
export function assertTransition(from: MachineState, to: MachineState, mac?: string): void {
  if (canTransition(from, to)) return;
  const who = mac === undefined ? 'machine' : `machine ${mac}`;
  const allowed = TABLE[from].join(', ');
  throw new PxedError(
    'LIFECYCLE_ILLEGAL',
    `${who} cannot go from ${from} to ${to} (from ${from} it may go to: ${allowed})`,
    mac === undefined ? { from, to } : { from, to, mac },
  );
}

/**
 * The watchdog's pure decision: true when a machine in a watched state has made no progress for `timeoutMs` at time
 * `now`. Progress is a state change (self-loops included) or, when the caller knows it, any later event on the
 * machine's timeline (`lastActivityMs`, epoch milliseconds).
 */
export function isStalled(
  machine: { state: MachineState; stateChangedAt: string },
  now: Date,
  timeoutMs: number,
  lastActivityMs = -Infinity,
): boolean {
  if (!WATCHED_STATES.includes(machine.state)) return false;
  const changed = Date.parse(machine.stateChangedAt);
  const since = Math.max(Number.isFinite(changed) ? changed : -Infinity, lastActivityMs);
  return Number.isFinite(since) && now.getTime() - since >= timeoutMs;
}
