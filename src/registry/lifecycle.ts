// The machine lifecycle as a pure table. The registry validates every state change against it
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

import { PxedError } from '../errors.js';
import { MACHINE_STATES, type MachineState } from './types.js';

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
 * The watchdog's pure decision: true when a machine in a watched state has made no progress (no state change,
 * self-loops included) for `timeoutMs` at time `now`.
 */
export function isStalled(machine: { state: MachineState; stateChangedAt: string }, now: Date, timeoutMs: number): boolean {
  if (!WATCHED_STATES.includes(machine.state)) return false;
  const since = Date.parse(machine.stateChangedAt);
  return Number.isFinite(since) && now.getTime() - since >= timeoutMs;
}
