// Where a netboot is, and what to check when it stops: one pure function from a machine's events (oldest first)
// to its boots (grouped, as sentences), the stage bar, and a hint for the current or stalled stage. The admin page
// (through GET /api/v1/machines/:mac/page) and the CLI (`pxed machines show`) use it.
//
// The stages follow what pxed records (src/boot/*.ts):
//   dhcp               dhcp-offer/dhcp-ack/discovered events from the machine's PXE firmware
//   boot-file          a complete TFTP transfer, the iPXE binary over HTTP (asset under ipxe/), or iPXE's own DHCP
//   ipxe-script        ipxe-script event with the install variant (signed Secure Boot chain: grub-cfg event)
//   kernel-initrd      asset served with 200/206 (not an iPXE binary); signed chain: kernel/initrd over TFTP
//   installer-config   artifact event (user-data, NixOS install script)
//   installer-progress phone-home progress
//   installed          state → installed
//   post-install       state → configured (the post-install configuration confirmed)

import type { TimelineEvent } from './sentences.js';
import { secureBootProgress } from './secure-boot.js';
import { eventSentence } from './sentences.js';

export const STAGES = ['dhcp', 'boot-file', 'ipxe-script', 'kernel-initrd', 'installer-config', 'installer-progress', 'installed', 'post-install'] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_LABEL: Readonly<Record<Stage, string>> = {
  dhcp: 'DHCP',
  'boot-file': 'boot file',
  'ipxe-script': 'iPXE script',
  'kernel-initrd': 'kernel/initrd',
  'installer-config': 'installer config',
  'installer-progress': 'installer progress',
  installed: 'installed',
  'post-install': 'post-install',
};

/** done: reached; current: waiting for it; stalled/failed: where the boot stopped; pending: not yet. */
export type StageStatus = 'done' | 'current' | 'stalled' | 'failed' | 'pending';

export interface BootGroup {
  /** ISO time of the boot's first event. */
  startedAt: string;
  lines: { id: number; time: string; kind: string; text: string }[];
}

export interface StageView {
  boots: BootGroup[];
  bar: { stage: Stage; label: string; status: StageStatus }[];
  /** The stage being waited for, or where the boot stopped; null once post-install is done. */
  stage: Stage | null;
  status: 'idle' | 'running' | 'stalled' | 'failed' | 'done';
  /** What to check for that stage (when stalled or failed, or when the machine waits for the operator). */
  hint: string | null;
}

type Detail = Readonly<Record<string, unknown>>;
const detailOf = (ev: TimelineEvent): Detail => ev.detail ?? {};
const rank = (s: Stage): number => STAGES.indexOf(s);

/** The stage one event shows was reached, or null (refusals, repeats, failed transfers, other state changes). */
export function stageOf(ev: TimelineEvent): Stage | null {
  const d = detailOf(ev);
  switch (ev.kind) {
    case 'discovered':
    case 'dhcp-offer':
    case 'dhcp-ack':
      // iPXE asking for an address means the boot file was loaded and runs.
      if (typeof d.ignored === 'string') return null;
      return d.ipxe === true ? 'boot-file' : 'dhcp';
    case 'tftp':
      if (d.outcome !== 'complete') return null;
      return d.secureBootStage === 'kernel' ? 'kernel-initrd' : 'boot-file';
    case 'ipxe-script':
    case 'grub-cfg':
      return d.variant === 'install' ? 'ipxe-script' : null;
    case 'asset': {
      if (d.status !== 200 && d.status !== 206) return null;
      return typeof d.path === 'string' && /(^|\/)ipxe\//.test(d.path) ? 'boot-file' : 'kernel-initrd';
    }
    case 'artifact':
      return 'installer-config';
    case 'phone-home':
      return d.type === 'status' && d.status === 'installed' ? 'installed' : 'installer-progress';
    case 'state':
      if (d.to === 'installed') return 'installed';
      if (d.to === 'configured') return 'post-install';
      return null;
    default:
      return null;
  }
}

/** A new boot starts at a re-arm (→ registered) or at the firmware's DHCP once the current boot got past DHCP. */
function startsBoot(ev: TimelineEvent, reached: Stage | null): boolean {
  if (ev.kind === 'state') return detailOf(ev).to === 'registered' && reached !== null;
  if (ev.kind === 'dhcp-offer' || ev.kind === 'discovered') return stageOf(ev) === 'dhcp' && reached !== null && rank(reached) > rank('dhcp');
  return false;
}

function lastOf(events: readonly TimelineEvent[], pred: (e: TimelineEvent) => boolean): TimelineEvent | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (pred(events[i]!)) return events[i];
  return undefined;
}

/** The command the discovered machine's iPXE message also names (src/boot/scripts.ts renderDiscovered). */
export const ADOPT_HINT = 'this machine is discovered: adopt it with an install entry (pxed machines adopt MAC --host ENTRY, or Adopt on the admin page), then netboot it again';

/** The hint for a boot that stopped while waiting for `waiting` (events: the current boot's). */
export function hintFor(waiting: Stage, events: readonly TimelineEvent[], failed: boolean): string {
  const offer = lastOf(events, (e) => e.kind === 'dhcp-offer' || e.kind === 'dhcp-ack');
  const script = lastOf(events, (e) => e.kind === 'ipxe-script');
  if (failed) {
    const failure = lastOf(events, (e) => (e.kind === 'state' && detailOf(e).to === 'failed') || e.kind === 'error');
    const why = failure !== undefined ? eventSentence(failure) : 'no reason recorded';
    if (waiting === 'post-install') return `post-install configuration failed (${why}): read its log, fix the playbook or the machine, then reinstall or rerun it`;
    if (waiting === 'installer-config') return `the installer config could not be generated (${why}): fix the install entry, then reinstall`;
    return `the installer reported a failure (${why}): read the machine's console or installer logs, fix, then reinstall`;
  }
  // The signed Secure Boot chain names the step that was refused ("stopped after GRUB fetched the kernel").
  const sb = secureBootProgress(events);
  if (sb?.stopped === true && sb.hint !== null && waiting !== 'post-install') return `${sb.sentence}: ${sb.hint}`;
  switch (waiting) {
    case 'dhcp':
      return 'no DHCP request from this MAC yet: is the machine set to network boot first, on the LAN pxed serves, and is the MAC right?';
    case 'boot-file': {
      const od = offer === undefined ? {} : detailOf(offer);
      if (typeof od.ignored === 'string') {
        return `pxed has no iPXE build for this firmware (${String(od.firmware)}): add one under the TFTP root, or boot the machine in another firmware mode`;
      }
      if (lastOf(events, (e) => e.kind === 'tftp') !== undefined) {
        return 'TFTP transfer of the boot file did not complete: check the MTU/blksize on the path and that nothing filters UDP between the machine and pxed; a Secure Boot firmware refuses unsigned iPXE';
      }
      if (offer !== undefined && String(od.stage).startsWith('proxy')) {
        return "proxy offer sent, no TFTP request: check the UEFI strategy (binl or direct), or whether the LAN's DHCP server hands out options 66/67 that point elsewhere";
      }
      return 'DHCP answered but the firmware never fetched the boot file: UDP 69 reachable from the machine? Secure Boot on (unsigned iPXE is refused)?';
    }
    case 'ipxe-script':
      return "the boot file was sent but iPXE never fetched its script: did iPXE get an address, can it reach pxed's HTTP port? On UEFI firmware without a working SNP, try the efiBinary override ipxe.efi";
    case 'kernel-initrd': {
      const variant = script === undefined ? null : detailOf(script).variant;
      if (variant === 'discovered') return ADOPT_HINT;
      if (variant === 'refused' || variant === 'error') return `iPXE was refused an install (${eventSentence(script!)}): fix the install entry or reinstall the machine`;
      if (variant === 'local-boot') return 'iPXE was told to boot the local disk: reinstall the machine to install again';
      const missing = lastOf(events, (e) => e.kind === 'asset' && typeof detailOf(e).status === 'number' && (detailOf(e).status as number) >= 400);
      if (missing !== undefined) return `the kernel/initrd request failed (${eventSentence(missing)}): is the OS image unpacked under pxed's asset roots?`;
      return "iPXE fetched its script but no kernel/initrd: is the image URL reachable from the machine, and is the image under pxed's asset roots?";
    }
    case 'installer-config':
      return 'installer never fetched user-data: kernel command line (autoinstall ds=nocloud-net), ISO URL reachable from the machine, RAM ≥ 6 GiB for the live ISO';
    case 'installer-progress':
      return "the installer fetched its config but never reported progress: is pxed's phone-home URL reachable from the installer? Look at the machine's console";
    case 'installed':
      return "the installer reported progress but never finished: look at the last step on the timeline and the machine's console (curtin/subiquity logs)";
    case 'post-install':
      return 'installed, but post-install configuration never confirmed: did the machine boot its disk, and is it reachable over SSH from pxed?';
  }
}

/**
 * The stage view of a machine. `state` is the machine's current state (the last state event's `to` if omitted).
 * Pure: same events in, same view out.
 */
export function stageView(events: readonly TimelineEvent[], state?: string): StageView {
  const boots: BootGroup[] = [];
  let current: TimelineEvent[] = [];
  let reached: Stage | null = null;
  let startMs = 0;
  for (const ev of events) {
    if (boots.length === 0 || startsBoot(ev, reached)) {
      boots.push({ startedAt: ev.time, lines: [] });
      current = [];
      reached = null;
      startMs = Date.parse(ev.time);
    }
    current.push(ev);
    const s = stageOf(ev);
    if (s !== null && (reached === null || rank(s) > rank(reached))) reached = s;
    boots[boots.length - 1]!.lines.push({ id: ev.id, time: ev.time, kind: String(ev.kind), text: eventSentence(ev, startMs) });
  }
  const lastState = lastOf(events, (e) => e.kind === 'state');
  const st = state ?? (lastState !== undefined ? String(detailOf(lastState).to) : 'registered');

  let status: StageView['status'];
  let stage: Stage | null;
  const next: Stage = reached === null ? 'dhcp' : STAGES[Math.min(rank(reached) + 1, STAGES.length - 1)]!;
  if (st === 'configured') {
    status = 'done';
    stage = null;
  } else if (st === 'failed') {
    status = 'failed';
    // A failure the installer reported happened during its progress; a failed post-install after the install.
    if (reached === 'installer-progress' || reached === 'installer-config') stage = 'installer-progress';
    else if (reached === 'installed' || reached === 'post-install') stage = 'post-install';
    else stage = next;
  } else if (st === 'stalled') {
    status = 'stalled';
    stage = next;
  } else if (st === 'installed' || st === 'post-installing') {
    status = 'running';
    stage = 'post-install';
  } else {
    status = st === 'discovered' || reached === null ? 'idle' : 'running';
    stage = next;
  }
  const script = lastOf(current, (e) => e.kind === 'ipxe-script');
  const variant = script === undefined ? null : detailOf(script).variant;
  const waitsOnOperator = variant !== null && variant !== 'install' && variant !== 'local-boot' && stage === 'ipxe-script';
  let hint: string | null = null;
  if (stage !== null && (status === 'stalled' || status === 'failed')) hint = hintFor(stage, current, status === 'failed');
  else if (st === 'discovered') hint = ADOPT_HINT;
  else if (waitsOnOperator) hint = hintFor('kernel-initrd', current, false);

  const bar = STAGES.map((s) => {
    // Everything before the current stage happened (a later stage cannot come first), even if unrecorded.
    let bs: StageStatus = stage === null || rank(s) < rank(stage) ? 'done' : 'pending';
    if (stage !== null && s === stage) bs = status === 'stalled' ? 'stalled' : status === 'failed' ? 'failed' : 'current';
    return { stage: s, label: STAGE_LABEL[s], status: bs };
  });
  return { boots, bar, stage, status, hint };
}
