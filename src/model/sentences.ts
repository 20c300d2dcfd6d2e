// Human sentences for boot events, shared by the admin page (through the machine-page API), the CLI (`pxed
// machines show`, `pxed events`) and the stage function (stage.ts). Pure: no I/O, no clock.
//
// Every string that came from a machine or the LAN (vendor class, phone-home text, paths) goes through
// `printable`, so control characters reach no terminal and no page raw; HTML escaping is the page's job
// (textContent only).

/** The shape of an event as the registry and the API hand it out (structural: registry/types.ts BootEvent). */
export interface TimelineEvent {
  id: number;
  mac: string;
  time: string;
  kind: string;
  detail: Record<string, unknown>;
}

/** Replaces C0/C1 control characters (and DEL) with visible \xNN escapes. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? printable(v) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** 1.1 MB, 12.3 kB, 512 B (decimal units, one decimal). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
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
  'efi-x64': 'UEFI x64',
  'efi-ia32': 'UEFI ia32',
  'efi-arm64': 'UEFI arm64',
  'efi-x64-http': 'UEFI x64 HTTP boot',
  'efi-ia32-http': 'UEFI ia32 HTTP boot',
  'efi-arm64-http': 'UEFI arm64 HTTP boot',
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

function dhcpSentence(d: Record<string, unknown>): string {
  const stage = DHCP_STAGE_LABEL[String(d.stage)] ?? 'DHCP';
  const who = d.ipxe === true ? `iPXE on ${firmwareLabel(d.firmware)}` : firmwareLabel(d.firmware);
  const ignored = str(d.ignored);
  if (ignored !== null) return `${stage}: ${who}, ignored (${ignored})`;
  const file = str(d.bootFile);
  const strategy = str(d.strategy);
  return `${stage}: ${who}${strategy !== null ? `, ${strategy}` : ''}${file !== null ? ` → ${file}` : ''}`;
}

function tftpSentence(d: Record<string, unknown>): string {
  const file = str(d.path) ?? '?';
  const bytes = num(d.bytes) ?? 0;
  const ms = num(d.durationMs);
  const outcome = str(d.outcome);
  if (outcome === 'complete') return `TFTP ${file} ${formatBytes(bytes)}${ms !== null ? ` in ${formatDuration(ms)}` : ''}`;
  const why = str(d.detail);
  return `TFTP ${file} ${outcome ?? 'ended'} after ${formatBytes(bytes)}${why !== null ? ` (${why})` : ''}`;
}

function scriptSentence(d: Record<string, unknown>): string {
  const rep = num(d.repeats);
  const times = rep !== null && rep > 0 ? ` (+${rep} repeats)` : '';
  switch (d.variant) {
    case 'install':
      return `iPXE script: ${str(d.os) ?? 'OS'} install${times}`;
    case 'local-boot':
      return `iPXE script: boot the local disk${str(d.method) !== null ? ` (${str(d.method)})` : ''}${times}`;
    case 'discovered':
      return `iPXE script: discovered machine, waiting to be adopted${times}`;
    case 'refused':
      return `iPXE script: refused${str(d.reason) !== null ? ` (${str(d.reason)})` : ''}${times}`;
    case 'error':
      return `iPXE script: cannot render the install script${str(d.reason) !== null ? `: ${str(d.reason)}` : ''}${times}`;
    default:
      return `iPXE script: ${str(d.variant) ?? 'unknown'}${times}`;
  }
}

/** Subiquity's result words as operators read them. */
const RESULT_WORD: Readonly<Record<string, string>> = { SUCCESS: 'ok', WARN: 'warning', FAIL: 'FAILED' };

function phoneHomeSentence(d: Record<string, unknown>): string {
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

function stateSentence(d: Record<string, unknown>): string {
  const from = str(d.from);
  const to = str(d.to) ?? '?';
  const reason = str(d.reason);
  return `${from !== null ? `${from} → ` : ''}${to}${reason !== null ? `: ${reason}` : ''}`;
}

/** One line for one event. `bootStartedAt` (ms) lets an `installed` state say how long the install took. */
export function describeEvent(ev: TimelineEvent, bootStartedAt?: number): string {
  const d = ev.detail ?? {};
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
    case 'state': {
      const started = bootStartedAt;
      if (d.to === 'installed' && started !== undefined && Number.isFinite(Date.parse(ev.time))) {
        return `installed in ${formatDuration(Date.parse(ev.time) - started)}${str(d.reason) !== null ? ` (${str(d.reason)})` : ''}`;
      }
      return stateSentence(d);
    }
    default:
      return `${printable(ev.kind)}`;
  }
}
