// One simulated machine's network boot and install, the sequence a real one goes through (docs/protocol.md):
//   firmware proxy DISCOVER (+ REQUEST to the site's router, which pxed only observes)
//   → UEFI: REQUEST to :4011 for the boot file
//   → TFTP read of the boot file (lock-step, or windowsize 4 as EDK2 asks)        [not for machines with an iPXE ROM]
//   → iPXE's own DISCOVER (user class iPXE) → http://S:P/boot.ipxe → the `chain` URL it names, /ipxe/<mac>?…
//   → the install script's kernel and initrd, the NoCloud seed (user-data, meta-data) at its per-boot token URL
//   → an installer progress event (Subiquity webhook shape) and the final phone-home {"status":"installed"}.
// Each stage's wall time, resends and bytes are recorded; every file is checked against the expected SHA-256.

import { OPT } from '../../src/dhcp/codec.js';
import { bootServerRequest, DhcpPort, personalise, request4011, type Identity, type TemplateName } from './dhcp.js';
import { httpFetch, type HttpResult } from './http.js';
import { tftpRead } from './tftp.js';

/** How long a TFTP read stays silent (re-sending its ACK) before it starts the transfer again, as a ROM does. */
const TFTP_PATIENCE_MS = 8000;

export type MachineKind = 'bios' | 'uefi' | 'ipxe-rom';
export const STAGES = ['dhcp', 'tftp', 'ipxe-dhcp', 'bootstrap', 'script', 'kernel', 'initrd', 'config', 'phone-home'] as const;
export type Stage = (typeof STAGES)[number];

export interface MachineSpec extends Identity {
  index: number;
  kind: MachineKind;
  /** RFC 7440 windowsize for the TFTP read (1 = lock-step). */
  windowsize: number;
}

export interface StageResult {
  ms: number;
  /** Packets or requests sent again. */
  resends: number;
  bytes: number;
  /** When the stage ended (ms since the epoch). */
  at: number;
}

export interface MachineResult {
  mac: string;
  kind: MachineKind;
  ok: boolean;
  error: string | null;
  stages: Partial<Record<Stage, StageResult>>;
  /** Files whose bytes differed from what was expected. */
  corrupted: string[];
  startedMs: number;
  endedMs: number;
}

export interface StormContext {
  server: string;
  router: string;
  port: DhcpPort;
  templates: Record<TemplateName, Buffer>;
  /** Boot file name → SHA-256; asset URL path (`/assets/…`) → SHA-256. */
  expected: Record<string, string>;
  tftpTimeoutMs: number;
  /** The installer's own time: after the initrd (kernel boot) and after the seed (the install itself). */
  installPauseMs: number;
  deadline: number;
}

const TEMPLATE_SET: Record<MachineKind, { discover: TemplateName; request: TemplateName; ipxeDiscover: TemplateName; ipxeRequest: TemplateName }> = {
  bios: { discover: 'biosDiscover', request: 'biosRequest', ipxeDiscover: 'biosIpxeDiscover', ipxeRequest: 'biosIpxeRequest' },
  uefi: { discover: 'uefiDiscover', request: 'uefiRequest', ipxeDiscover: 'uefiIpxeDiscover', ipxeRequest: 'uefiIpxeRequest' },
  'ipxe-rom': { discover: 'romDiscover', request: 'romRequest', ipxeDiscover: 'romDiscover', ipxeRequest: 'romRequest' },
};

/** The UUID string iPXE prints for ${uuid} (SMBIOS byte order, as clientUuid() in src/dhcp/codec.ts reads it). */
function uuidString(u: Buffer): string {
  const h = (i: number): string => u[i]!.toString(16).padStart(2, '0');
  return `${h(3)}${h(2)}${h(1)}${h(0)}-${h(5)}${h(4)}-${h(7)}${h(6)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}

/** The `chain` URL of a bootstrap script with iPXE's settings expanded for this machine. */
export function chainUrl(bootstrap: string, m: MachineSpec): string {
  const line = bootstrap.split('\n').find((l) => /^\s*chain\s/.test(l));
  const url = line?.split(/\s+/).find((w) => /^https?:\/\//.test(w));
  if (!url) throw new Error(`no chain URL in the bootstrap script:\n${bootstrap}`);
  const efi = m.kind === 'uefi';
  const values: Record<string, string> = {
    'netX/mac:hexhyp': m.mac.replace(/:/g, '-'),
    'net0/mac': m.mac,
    'netX/mac': m.mac,
    'buildarch:uristring': efi ? 'x86_64' : 'i386',
    buildarch: efi ? 'x86_64' : 'i386',
    'platform:uristring': efi ? 'efi' : 'pcbios',
    platform: efi ? 'efi' : 'pcbios',
    uuid: uuidString(m.uuid),
    'manufacturer:uristring': 'QEMU',
    'product:uristring': 'Standard%20PC',
    'serial:uristring': '',
  };
  return url.replace(/\$\{([^}]+)\}/g, (_, k: string) => values[k] ?? '');
}

/** kernel, initrd(s) and the NoCloud seed URL of an install script. */
export function installParts(script: string): { kernel: string; initrds: string[]; seed: string | null } {
  const lines = script.split('\n').map((l) => l.trim());
  const urlOf = (l: string | undefined): string | null => l?.split(/\s+/).find((w) => /^https?:\/\//.test(w)) ?? null;
  const kernelLine = lines.find((l) => l.startsWith('kernel '));
  const kernel = urlOf(kernelLine);
  if (!kernel) throw new Error(`no kernel in the machine script:\n${script}`);
  const initrds = lines.filter((l) => l.startsWith('initrd ')).map((l) => urlOf(l)).filter((u): u is string => u !== null);
  const seed = /ds=nocloud(?:-net)?;s=(\S+)/.exec(kernelLine ?? '')?.[1] ?? null;
  return { kernel, initrds, seed };
}

/** `live` receives the result object as it is filled in (so a caller at its deadline can report partial progress). */
export async function runMachine(ctx: StormContext, m: MachineSpec, xidBase: number, live?: (r: MachineResult) => void): Promise<MachineResult> {
  const result: MachineResult = { mac: m.mac, kind: m.kind, ok: false, error: null, stages: {}, corrupted: [], startedMs: Date.now(), endedMs: 0 };
  live?.(result);
  const t = TEMPLATE_SET[m.kind];
  /** The BIOS firmware step replays the iPXE-ROM capture as a plain PXE ROM (no user class, no iPXE options). */
  const fwDrop = m.kind === 'bios' ? [OPT.USER_CLASS, OPT.IPXE] : [];
  let xid = xidBase;
  const stage = async <T>(name: Stage, fn: () => Promise<{ value: T; resends: number; bytes: number }>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    result.stages[name] = { ms: performance.now() - t0, resends: r.resends, bytes: r.bytes, at: Date.now() };
    return r.value;
  };
  const http = { localAddress: m.ip, timeoutMs: 60_000, attempts: 10, deadline: ctx.deadline };
  const get = async (url: string, check?: string): Promise<{ value: HttpResult; resends: number; bytes: number }> => {
    const r = await httpFetch(url, http);
    if (r.status !== 200) throw new Error(`HTTP ${r.status} for ${url}: ${r.text.slice(0, 200)}`);
    if (check !== undefined && ctx.expected[check] !== r.sha256) result.corrupted.push(check);
    return { value: r, resends: r.retries, bytes: r.bytes };
  };
  try {
    // Firmware DHCP: proxy OFFER, the REQUEST to the router the proxy observes (it carries our address), and the
    // PXE boot server step on :4011 when the OFFER names no boot file (UEFI binl; dnsmasq's PXE menus).
    // PXE firmware uses the OFFER's file only when 43.6 says so; iPXE takes any file (an empty one: :4011 too).
    const askBootFile = async (discover: TemplateName, request: TemplateName, drop: readonly number[], firmware: boolean): Promise<{ value: string; resends: number; bytes: number }> => {
      const id = ++xid;
      const { offer, sends } = await ctx.port.discover(personalise(ctx.templates[discover], m, id, ctx.router, drop), id, ctx.server, 1000, 8);
      await ctx.port.request(personalise(ctx.templates[request], m, id, ctx.router, drop));
      if (offer.file && (offer.direct || !firmware || /^https?:\/\//.test(offer.file))) return { value: offer.file, resends: sends - 1, bytes: 0 };
      const ack = await request4011(bootServerRequest(ctx.templates[request], m, ++xid, offer.bootItem, drop), m.ip, offer.server, 1000, 8);
      return { value: ack.offer.file, resends: sends - 1 + ack.sends - 1, bytes: 0 };
    };
    const first = await stage('dhcp', () => askBootFile(t.discover, t.request, fwDrop, m.kind !== 'ipxe-rom'));
    if (!/^https?:\/\//.test(first)) {
      await stage('tftp', async () => {
        const r = await tftpRead({ localAddress: m.ip, server: ctx.server, file: first, blksize: 1468, windowsize: m.windowsize, timeoutMs: ctx.tftpTimeoutMs, retries: Math.ceil(TFTP_PATIENCE_MS / ctx.tftpTimeoutMs), attempts: 6, deadline: ctx.deadline });
        if (ctx.expected[first] !== r.sha256) result.corrupted.push(first);
        return { value: r, resends: r.retransmits + r.restarts, bytes: r.bytes };
      });
    }
    // iPXE (from the ROM, or just loaded over TFTP) asks again with user class iPXE and gets the bootstrap URL.
    const bootstrapUrl = /^https?:\/\//.test(first) ? first : await stage('ipxe-dhcp', () => askBootFile(t.ipxeDiscover, t.ipxeRequest, [], false));
    if (!/^https?:\/\//.test(bootstrapUrl)) throw new Error(`iPXE was offered ${JSON.stringify(bootstrapUrl)}, not a script URL`);
    const bootstrap = await stage('bootstrap', () => get(bootstrapUrl));
    const script = await stage('script', () => get(chainUrl(bootstrap.text, m)));
    const parts = installParts(script.text);
    await stage('kernel', () => get(parts.kernel, new URL(parts.kernel).pathname));
    await stage('initrd', async () => {
      let bytes = 0;
      let resends = 0;
      for (const u of parts.initrds) {
        const r = await get(u, new URL(u).pathname);
        bytes += r.bytes;
        resends += r.resends;
      }
      return { value: null, resends, bytes };
    });
    if (!parts.seed) throw new Error('the install script names no NoCloud seed');
    await new Promise((r) => setTimeout(r, ctx.installPauseMs));
    const seed = parts.seed;
    const userData = await stage('config', async () => {
      const ud = await get(`${seed}user-data`);
      const md = await get(`${seed}meta-data`);
      return { value: ud.value, resends: ud.resends + md.resends, bytes: ud.bytes + md.bytes };
    });
    const events = /https?:\/\/[^\s"']+\/events/.exec(userData.text)?.[0];
    if (!events) throw new Error(`user-data names no phone-home URL:\n${userData.text.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, ctx.installPauseMs));
    await stage('phone-home', async () => {
      const post = async (body: unknown): Promise<HttpResult> => {
        const r = await httpFetch(events, { ...http, method: 'POST', body: JSON.stringify(body) });
        if (r.status >= 300) throw new Error(`phone-home answered ${r.status}: ${r.text.slice(0, 200)}`);
        return r;
      };
      const a = await post({ event_type: 'start', name: 'subiquity/Install/install', description: 'installing system', origin: 'curtin', timestamp: Date.now() / 1000 });
      const b = await post({ status: 'installed', detail: 'storm: installed' });
      return { value: null, resends: a.retries + b.retries, bytes: 0 };
    });
    result.ok = result.corrupted.length === 0;
    if (!result.ok) result.error = `corrupted: ${result.corrupted.join(', ')}`;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  }
  result.endedMs = Date.now();
  return result;
}
