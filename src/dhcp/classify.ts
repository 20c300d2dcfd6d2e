// Client classification: one pure function from a decoded packet to a BootClient (model/client.ts). Everything
// downstream (policy, reply builder) uses its result and never re-reads options 60/77/93/97/175.

import type { BootClient, Firmware } from '../model/client.js';
import {
  clientArchs,
  clientUuid,
  getOption,
  macOf,
  OPT,
  userClasses,
  vendorClass,
  type DhcpPacket,
} from './codec.js';

/** Option-60 prefixes that select PXE (9 bytes) and UEFI HTTP boot (10 bytes); case-sensitive (docs/protocol.md §2.1). */
export const DEFAULT_VENDOR_PREFIXES: readonly string[] = ['PXEClient', 'HTTPClient'];
export const HTTP_CLIENT_PREFIX = 'HTTPClient';
/** The user-class our own iPXE build's embedded script sets (`set user-class pxed`). */
export const DEFAULT_OUR_USER_CLASS = 'pxed';

export interface ClassifyOptions {
  /** Our own iPXE user-class (the loop breaker, docs/protocol.md §4.3). Default 'pxed'. */
  ourUserClass?: string;
}

/**
 * Option 93 (RFC 4578 §2.1 with errata 4624; IANA Processor Architecture Types) to firmware, for the values we
 * serve. docs/protocol.md §4.1. 9 (EBC, but sent by some x64 firmware) is served as 7 (Q15); 17 (EBC HTTP) likewise as 16.
 * Every value not listed here is 'unsupported', and the responder stays silent for it.
 */
const ARCH_FIRMWARE: ReadonlyMap<number, Firmware> = new Map<number, Firmware>([
  [0, 'bios'],
  [6, 'efi-ia32'],
  [7, 'efi-x64'],
  [9, 'efi-x64'],
  [10, 'efi-arm32'],
  [11, 'efi-arm64'],
  [15, 'efi-ia32-http'],
  [16, 'efi-x64-http'],
  [17, 'efi-x64-http'],
  [18, 'efi-arm32-http'],
  [19, 'efi-arm64-http'],
  [27, 'efi-riscv64'],
  [28, 'efi-riscv64-http'],
]);

/** Architecture values normalised before reporting them (errata 4624). */
const ARCH_ALIAS: ReadonlyMap<number, number> = new Map([
  [9, 7],
  [17, 16],
]);

const HTTP_OF: Partial<Record<Firmware, Firmware>> = {
  'efi-ia32': 'efi-ia32-http',
  'efi-x64': 'efi-x64-http',
  'efi-arm32': 'efi-arm32-http',
  'efi-arm64': 'efi-arm64-http',
  'efi-riscv64': 'efi-riscv64-http',
};

export function firmwareForArch(arch: number): Firmware {
  return ARCH_FIRMWARE.get(arch) ?? 'unsupported';
}

/** The configured prefix option 60 starts with (first match, byte-wise and case-sensitive), else null. */
export function matchVendorPrefix(p: DhcpPacket, prefixes: readonly string[] = DEFAULT_VENDOR_PREFIXES): string | null {
  const v = getOption(p, OPT.VENDOR_CLASS);
  if (v === null) return null;
  for (const prefix of prefixes) {
    if (v.length < prefix.length) continue;
    let i = 0;
    while (i < prefix.length && v[i] === prefix.charCodeAt(i)) i++;
    if (i === prefix.length) return prefix;
  }
  return null;
}

/**
 * Architecture: the first option-93 value we know, else the first value; without 93, `Arch:NNNNN` from option 60;
 * else 0 (iPXE maintainer guidance, ipxe/ipxe#1527). Throws DHCP_MALFORMED for an odd-length 93.
 */
function archOf(p: DhcpPacket, vc: string | null): number {
  const list = clientArchs(p);
  if (list !== null) {
    const known = list.find((a) => ARCH_FIRMWARE.has(a));
    const a = known ?? list[0]!;
    return ARCH_ALIAS.get(a) ?? a;
  }
  const m = vc === null ? null : /Arch:(\d{5})/.exec(vc);
  if (m) {
    const a = Number(m[1]);
    return ARCH_ALIAS.get(a) ?? a;
  }
  return 0;
}

export function classifyClient(p: DhcpPacket, opts: ClassifyOptions = {}): BootClient {
  const vc = vendorClass(p);
  const arch = archOf(p, vc);
  const classes = userClasses(p);
  const ours = opts.ourUserClass ?? DEFAULT_OUR_USER_CLASS;
  const isOurIpxe = classes.includes(ours);
  // iPXE is tested before HTTPClient: iPXE loaded by HTTP boot still says PXEClient/93=7 (ipxe/ipxe#1527).
  const isIpxe = isOurIpxe || classes.includes('iPXE') || getOption(p, OPT.IPXE) !== null;
  const isHttpClient = vc !== null && vc.startsWith(HTTP_CLIENT_PREFIX);
  let firmware = firmwareForArch(arch);
  // An HTTPClient vendor class with a PXE arch value is still an HTTP boot client.
  if (isHttpClient && HTTP_OF[firmware]) firmware = HTTP_OF[firmware]!;
  return {
    mac: macOf(p),
    arch,
    firmware,
    isIpxe,
    isOurIpxe,
    isHttpClient,
    uuid: clientUuid(p),
    vendorClass: vc,
    userClasses: classes,
  };
}
