// Human sentences for boot events, shared by the admin page (through the machine-page API), the CLI (`pxed
// machines show`, `pxed events`) and the stage function (stage.ts). Pure: no I/O, no clock.
//
// Sentences carry machine- and LAN-supplied text (vendor class, phone-home text, paths) as it was recorded: the
// CLI escapes control characters when it prints (src/cli/escape.ts), the page writes text nodes only and makes
// control characters visible there (ui/common.js). Details are read defensively: a recorded event is JSON that an
// older or newer pxed may have written.

import type { BootEvent } from './events.js';
import { SECURE_BOOT_STAGE_TEXT, isSecureBootStage } from './secure-boot.js';

/** A recorded event as the sentences read it: the kind may be one this version does not know. */
export type TimelineEvent = BootEvent | { id: number; mac: string; time: string; kind: string; detail: Readonly<Record<string, unknown>> };

type Detail = Readonly<Record<string, unknown>>;

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** 1.1 MB, 12.3 kB, 512 B (decimal units, one decimal). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.max(0, n)} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(1)} GB`;
}

/** 0.4 s, 12 s, 8 m 12 s, 2 h 5 m. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} m`;
}

const FIRMWARE_LABEL: Readonly<Record<string, string>> = {
  bios: 'BIOS',
  'efi-ia32': 'UEFI ia32',
  'efi-x64': 'UEFI x64',
  'efi-arm32': 'UEFI arm32',
  'efi-arm64': 'UEFI arm64',
  'efi-riscv64': 'UEFI riscv64',
  'efi-ia32-http': 'UEFI ia32 HTTP boot',
  'efi-x64-http': 'UEFI x64 HTTP boot',
  'efi-arm32-http': 'UEFI arm32 HTTP boot',
  'efi-arm64-http': 'UEFI arm64 HTTP boot',
  'efi-riscv64-http': 'UEFI riscv64 HTTP boot',
  unsupported: 'unsupported firmware',
};

export function firmwareLabel(firmware: unknown): string {
  const f = str(firmware);
  if (f === null) return 'unknown firmware';
  return FIRMWARE_LABEL[f] ?? f;
}

const DHCP_STAGE_LABEL: Readonly<Record<string, string>> = {
  'proxy-offer': 'proxy offer',
  'proxy-ack': 'proxy ack',
  'proxy-ack-4011': 'proxy ack (port 4011)',
  'dhcp-offer': 'DHCP offer',
  'dhcp-ack': 'DHCP ack',
};

function dhcpSentence(d: Detail): string {
  const stage = DHCP_STAGE_LABEL[String(d.stage)] ?? 'DHCP';
  const who = d.ipxe === true ? `iPXE on ${firmwareLabel(d.firmware)}` : firmwareLabel(d.firmware);
  const ignored = str(d.ignored);
  if (ignored !== null) return `${stage}: ${who}, ignored (${ignored})`;
  const file = str(d.bootFile);
  const strategy = str(d.strategy);
  return `${stage}: ${who}${strategy !== null ? `, ${strategy}` : ''}${file !== null ? ` → ${file}` : ''}`;
}

function tftpSentence(d: Detail): string {
  const file = str(d.path) ?? '?';
  const bytes = num(d.bytes) ?? 0;
  const ms = num(d.durationMs);
  const outcome = str(d.outcome);
  // The signed Secure Boot chain's files say which step they are (model/secure-boot.ts).
  const sb = isSecureBootStage(d.secureBootStage) ? ` (Secure Boot: ${SECURE_BOOT_STAGE_TEXT[d.secureBootStage]})` : '';
  if (outcome === 'complete') return `TFTP ${file} ${formatBytes(bytes)}${ms !== null ? ` in ${formatDuration(ms)}` : ''}${sb}`;
  const why = str(d.detail);
  return `TFTP ${file} ${outcome ?? 'ended'} after ${formatBytes(bytes)}${why !== null ? ` (${why})` : ''}`;
}

function scriptSentence(d: Detail): string {
  const rep = num(d.repeats);
  const times = rep !== null && rep > 0 ? ` (+${rep} repeats)` : '';
  const reason = str(d.reason);
  switch (d.variant) {
    case 'install':
      return `iPXE script: ${str(d.os) ?? 'OS'} install${times}`;
    case 'local-boot':
      return `iPXE script: boot the local disk${str(d.method) !== null ? ` (${str(d.method)})` : ''}${times}`;
    case 'discovered':
      return `iPXE script: discovered machine, waiting to be adopted${times}`;
    case 'refused':
      return `iPXE script: refused${reason !== null ? ` (${reason})` : ''}${times}`;
    case 'error':
      return `iPXE script: cannot render the install script${reason !== null ? `: ${reason}` : ''}${times}`;
    default:
      return `iPXE script: ${str(d.variant) ?? 'unknown'}${times}`;
  }
}

/** Subiquity's result words as operators read them. */
const RESULT_WORD: Readonly<Record<string, string>> = { SUCCESS: 'ok', WARN: 'warning', FAIL: 'FAILED' };

function phoneHomeSentence(d: Detail): string {
  if (d.type === 'status') {
    const detail = str(d.detail);
    return `installer reported ${str(d.status) ?? '?'}${detail !== null ? `: ${detail}` : ''}`;
  }
  const name = str(d.name) ?? '?';
  const ev = str(d.eventType) ?? 'event';
  const result = str(d.result);
  const desc = str(d.description);
  const tail = result !== null ? ` … ${RESULT_WORD[result] ?? result}` : '';
  return `Subiquity: ${name} ${ev}${desc !== null && desc !== name ? ` (${desc})` : ''}${tail}`;
}

function stateSentence(d: Detail): string {
  const from = str(d.from);
  const to = str(d.to) ?? '?';
  const reason = str(d.reason);
  return `${from !== null ? `${from} → ` : ''}${to}${reason !== null ? `: ${reason}` : ''}`;
}

const POST_PHASE: Readonly<Record<string, string>> = {
  started: 'post-install configuration started',
  ok: 'post-install configuration done',
  failed: 'post-install configuration failed',
  interrupted: 'post-install configuration interrupted (daemon restart)',
};

/** One line for one event. `bootStartedAt` (epoch ms) lets an `installed` state say how long the install took. */
export function eventSentence(ev: TimelineEvent, bootStartedAt?: number): string {
  const d: Detail = ev.detail ?? {};
  switch (ev.kind) {
    case 'dhcp-offer':
    case 'dhcp-ack':
      return dhcpSentence(d);
    case 'discovered': {
      const vc = str(d.vendorClass);
      return `discovered: ${firmwareLabel(d.firmware)}${vc !== null ? `, vendor class ${vc}` : ''}`;
    }
    case 'tftp':
      return tftpSentence(d);
    case 'ipxe-script':
      return scriptSentence(d);
    case 'grub-cfg':
      // The signed chain's per-MAC grub.cfg: the same decision as the iPXE script.
      return scriptSentence(d).replace(/^iPXE script/, 'GRUB config');
    case 'asset': {
      const status = num(d.status);
      return `HTTP ${str(d.path) ?? '?'} ${formatBytes(num(d.bytes) ?? 0)}${status !== null && status !== 200 && status !== 206 ? ` (status ${status})` : ''}`;
    }
    case 'artifact': {
      const route = str(d.route) ?? '?';
      return `installer fetched ${route.slice(route.indexOf('/') + 1)} (${formatBytes(num(d.bytes) ?? 0)})`;
    }
    case 'phone-home':
      return phoneHomeSentence(d);
    case 'token':
      return `refused a ${str(d.outcome) ?? 'bad'} boot token for ${str(d.route) ?? '?'} (the install was re-armed or took too long)`;
    case 'error':
      return `error: ${str(d.reason) ?? 'unknown'}`;
    case 'post-install': {
      const detail = str(d.detail) ?? str(d.reason);
      return `${POST_PHASE[String(d.phase)] ?? 'post-install configuration'}${detail !== null ? `: ${detail}` : ''}`;
    }
    case 'state': {
      const t = Date.parse(ev.time);
      if (d.to === 'installed' && bootStartedAt !== undefined && Number.isFinite(t)) {
        const reason = str(d.reason);
        return `installed in ${formatDuration(t - bootStartedAt)}${reason !== null ? ` (${reason})` : ''}`;
      }
      return stateSentence(d);
    }
    default:
      return String(ev.kind);
  }
}
