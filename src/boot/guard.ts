// Guards of the boot routes against a hostile provisioning LAN (docs/security.md, issue 14). Memory only, bounded.
//
// Install hijack: while a machine's install is armed (booting/installing/stalled with a live token), a script fetch
// re-arms it (revokes the running install's token and mints a new one) only after a new DHCP exchange for that MAC
// was seen since the mint — a real reboot. Without one, the address that got the live token gets the same script
// (same token) again; any other address gets a refusal script. Minting is rate-limited per MAC.
// Token binding: a token is accepted only from the address that fetched its script, or the last address DHCP saw
// for its MAC; from anywhere else it is refused exactly like an unknown token (the same 404).
// Refusals are recorded at most once per REFUSAL_WINDOW_MS per (machine, reason), naming the address, with the
// number folded into it: an attacker cannot grow the timeline faster than that.
// After a restart (or once a record is evicted) nothing is known of the running install: a script fetch for an
// armed machine is refused until its next DHCP exchange, and a token is bound to the first address presenting it.
// A token revoked more than REVOKED_GRACE_MS ago is treated as unknown: 404 before the body is read, nothing written;
// within the grace an installer repeating its last events after the install ended is still answered.

import type { MachineState } from '../model/machine.js';
import type { BootToken } from '../registry/types.js';
import { RepeatGate } from './repeats.js';
import type { HttpDocument } from './types.js';

/** How long a revoked token is still answered (and its refusals recorded). */
export const REVOKED_GRACE_MS = 15 * 60_000;
/** Install scripts minted per MAC per minute (config policy.script_mints_per_minute). */
export const DEFAULT_MINTS_PER_MINUTE = 4;
/** One refusal event per (machine, reason) per window; the others are counted into the next one. */
export const REFUSAL_WINDOW_MS = 60_000;
/** States in which a machine has an install armed (a live token the guard protects). */
export const ARMED_STATES: readonly MachineState[] = ['booting', 'installing', 'stalled'];
/** Machines (and tokens) each record is kept for; the oldest is forgotten first. */
const CAPACITY = 4096;

/** True when `token` was revoked more than the grace ago: callers answer 404 and write nothing. */
export function revokedLongAgo(token: BootToken, nowMs: number, graceMs = REVOKED_GRACE_MS): boolean {
  return token.revokedAt !== null && nowMs - Date.parse(token.revokedAt) > graceMs;
}

/** A Map that forgets its least recently set key past `capacity`. */
class Bounded<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  has(k: K): boolean {
    return this.map.has(k);
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
  delete(k: K): void {
    this.map.delete(k);
  }
}

export interface ArmedInstall {
  /** sha256 of the live token. */
  hash: string;
  bootId: string;
  /** The address that fetched the install script. */
  address: string;
  /** The script as served (re-served to the same address). */
  document: HttpDocument;
}

/** What a script fetch for an armed machine gets instead of a new install; null = render (and maybe mint). */
export type ScriptHold =
  | { kind: 'reserve'; document: HttpDocument; bootId: string }
  | { kind: 'refuse'; reason: 'install-in-progress'; message: string }
  | null;

export interface GuardOptions {
  mintsPerMinute?: number;
  /** false: tokens are accepted from any address (installers whose DHCP client gets another address). */
  bindTokens?: boolean;
}

export class BootGuard {
  private readonly armed = new Bounded<string, ArmedInstall>(CAPACITY);
  /** Token hash → the address it is bound to. */
  private readonly bound = new Bounded<string, string>(CAPACITY);
  /** MACs with a DHCP exchange since their last mint. */
  private readonly rebooted = new Bounded<string, true>(CAPACITY);
  /** MAC → the last address DHCP saw it use. */
  private readonly dhcpAddress = new Bounded<string, string>(CAPACITY);
  /** MAC → times of its mints within the last minute. */
  private readonly mints = new Bounded<string, number[]>(CAPACITY);
  private readonly refusals = new RepeatGate(REFUSAL_WINDOW_MS, CAPACITY);

  /** `options` is read at each use (a reload may change it); the records survive a reload. */
  constructor(private readonly options: () => GuardOptions = () => ({})) {}

  /** pxed answered a DHCP packet of this known MAC: the machine (re)booted, its next script may re-arm. */
  dhcpExchange(mac: string): void {
    this.rebooted.set(mac, true);
  }

  /** DHCP saw `mac` use `ip` (ciaddr, lease, option-50 hint of an exchange pxed answered). */
  dhcpAddressSeen(mac: string, ip: string): void {
    if (this.dhcpAddress.get(mac) !== ip) this.dhcpAddress.set(mac, ip);
  }

  /**
   * Before rendering a script for `mac` in `state`: hold (re-serve or refuse) when an install is armed and no DHCP
   * exchange was seen since its mint. A dead token protects nothing, so the fetch goes ahead: `tokens.live(hash)`
   * says whether the armed token is still live (not revoked/expired), and when this process armed nothing for the MAC
   * (a restart, an eviction) `tokens.anyLive(mac)` asks the registry whether the MAC holds a live token at all — a
   * machine that got its DHCP answer before a restart and asks for its first script after it has none to protect.
   */
  hold(mac: string, state: MachineState, address: string, tokens: { live: (hash: string) => boolean; anyLive: (mac: string) => boolean }): ScriptHold {
    if (!ARMED_STATES.includes(state) || this.rebooted.has(mac)) return null;
    const a = this.armed.get(mac);
    if (a === undefined ? !tokens.anyLive(mac) : !tokens.live(a.hash)) return null;
    if (a !== undefined && a.address === address) return { kind: 'reserve', document: a.document, bootId: a.bootId };
    return {
      kind: 'refuse',
      reason: 'install-in-progress',
      message: 'an install is in progress for this machine; power-cycle it to start over',
    };
  }

  /** Whether another install may be minted for `mac` now (at most mintsPerMinute per sliding minute). */
  mintAllowed(mac: string, nowMs: number): boolean {
    const recent = (this.mints.get(mac) ?? []).filter((t) => nowMs - t < 60_000);
    return recent.length < (this.options().mintsPerMinute ?? DEFAULT_MINTS_PER_MINUTE);
  }

  /** An install was armed: its token (hash) is bound to `address`, the script kept for re-serving. */
  minted(mac: string, armed: ArmedInstall, nowMs: number): void {
    const recent = (this.mints.get(mac) ?? []).filter((t) => nowMs - t < 60_000);
    recent.push(nowMs);
    this.mints.set(mac, recent);
    this.armed.set(mac, armed);
    this.bound.set(armed.hash, armed.address);
    this.rebooted.delete(mac);
  }

  /**
   * Whether `token` may be used from `address`: the address its script went to, or the last one DHCP saw for its
   * MAC. A token not bound in this process (restart, eviction) is bound to the first address presenting it.
   */
  sourceAllowed(token: BootToken, address: string): boolean {
    if (this.options().bindTokens === false) return true;
    const b = this.bound.get(token.hash);
    if (b === undefined) {
      this.bound.set(token.hash, address);
      return true;
    }
    return b === address || this.dhcpAddress.get(token.mac) === address;
  }

  /** null: a refusal of this kind for `mac` was recorded within the window, write nothing; else write it with `repeats`. */
  refusalAdmitted(mac: string, reason: string, nowMs: number): { repeats: number } | null {
    return this.refusals.admit(mac, reason, nowMs);
  }
}
