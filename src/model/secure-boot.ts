// The signed Secure Boot chain's stages as the timeline records them (docs/secure-boot.md "Timeline"): each TFTP
// transfer of the chain carries `secureBootStage`, in the order the loaders fetch them:
//   shim       the firmware fetched the shim (shimx64.efi / shimaa64.efi)
//   grub       the shim fetched GRUB (grubx64.efi / grubaa64.efi): the firmware accepted the shim
//   grub.cfg   GRUB fetched its config (grub/grub.cfg, then the per-MAC one): the shim accepted GRUB
//   kernel     GRUB fetched the kernel or an initrd (pxed/assets/...)
// A boot that ends at one of them was refused by the next verifier, so "stopped after GRUB fetched the kernel" is a
// kernel signature the shim did not accept. Pure functions of the events; the CLI, the admin page and the watchdog
// use them.

export type SecureBootStage = 'shim' | 'grub' | 'grub.cfg' | 'kernel';

export const SECURE_BOOT_STAGES: readonly SecureBootStage[] = ['shim', 'grub', 'grub.cfg', 'kernel'];

/** What reaching each stage means, as the end of a sentence. */
export const SECURE_BOOT_STAGE_TEXT: Readonly<Record<SecureBootStage, string>> = {
  shim: 'the firmware fetched the shim',
  grub: 'the shim fetched GRUB',
  'grub.cfg': 'GRUB fetched its config',
  kernel: 'GRUB fetched the kernel',
};

/** What probably refused the next step when a boot stops after each stage. */
const NEXT_REFUSAL: Readonly<Record<SecureBootStage, string>> = {
  shim: 'the firmware refused the shim (Secure Boot keys without Microsoft\'s UEFI CA?) or the shim could not reach pxed',
  grub: 'the shim refused GRUB (a GRUB not signed by the shim\'s vendor?) or GRUB found no TFTP server (next-server on the LAN DHCP)',
  'grub.cfg': 'GRUB read its config but fetched no kernel: is the kernel under http.asset_roots (GRUB asks for /pxed/assets/<path>), and what does the console say?',
  kernel: 'the kernel was refused (not signed by a key the shim trusts: use the distribution\'s own shim+GRUB) or did not reach phone-home',
};

export function isSecureBootStage(value: unknown): value is SecureBootStage {
  return typeof value === 'string' && (SECURE_BOOT_STAGES as readonly string[]).includes(value);
}

/** The minimal event shape these functions read (BootEvent and the timeline views both fit). */
export interface StageEvent {
  readonly kind: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** The Secure Boot stage one event shows was reached: a completed TFTP transfer of the chain, else null. */
export function secureBootStageOf(ev: StageEvent): SecureBootStage | null {
  if (ev.kind !== 'tftp' || ev.detail.outcome !== 'complete') return null;
  const stage = ev.detail.secureBootStage;
  return isSecureBootStage(stage) ? stage : null;
}

export interface SecureBootProgress {
  /** The furthest stage of the last signed-chain boot. */
  reached: SecureBootStage;
  /** True when nothing after that stage happened (no phone-home, artifact or later state change). */
  stopped: boolean;
  /** "stopped after GRUB fetched the kernel" or "reached: GRUB fetched the kernel". */
  sentence: string;
  /** For a stopped boot, what probably refused the next step; null otherwise. */
  hint: string | null;
}

/** Events past the Secure Boot chain: the kernel ran (the installer or the payload spoke to pxed). */
function pastTheChain(ev: StageEvent): boolean {
  return ev.kind === 'phone-home' || ev.kind === 'artifact' || (ev.kind === 'state' && (ev.detail.to === 'installing' || ev.detail.to === 'installed'));
}

/**
 * Where the last signed-chain boot in `events` (oldest first) got to, or null when there is none. A boot starts at
 * the last completed shim transfer; the furthest stage after it counts.
 */
export function secureBootProgress(events: readonly StageEvent[]): SecureBootProgress | null {
  let start = -1;
  for (let i = events.length - 1; i >= 0; i--) {
    if (secureBootStageOf(events[i]!) === 'shim') {
      start = i;
      break;
    }
  }
  if (start < 0) return null;
  let reached: SecureBootStage = 'shim';
  let stopped = true;
  for (const ev of events.slice(start + 1)) {
    if (pastTheChain(ev)) stopped = false;
    const s = secureBootStageOf(ev);
    if (s !== null && SECURE_BOOT_STAGES.indexOf(s) > SECURE_BOOT_STAGES.indexOf(reached)) reached = s;
  }
  const text = SECURE_BOOT_STAGE_TEXT[reached];
  return stopped
    ? { reached, stopped, sentence: `stopped after ${text}`, hint: NEXT_REFUSAL[reached] }
    : { reached, stopped, sentence: `reached: ${text}`, hint: null };
}
