// IPv4 arithmetic: dotted quads as 32-bit unsigned numbers, CIDRs and masks. Pure; the one copy of it.

/** Dotted-quad IPv4 without leading zeros, as a 32-bit unsigned number; null when malformed. */
export function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function isIpv4(s: string): boolean {
  return parseIpv4(s) !== null;
}

/** The dotted quad of a 32-bit unsigned number. */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * A well-formed dotted quad as a number, without validation (hot paths: addresses that came from a validated
 * config or a packet). Use parseIpv4 for input.
 */
export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
}

/** The mask of a prefix length (0-32) as a number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The dotted-quad netmask of a prefix length, e.g. 24 → 255.255.255.0. */
export function prefixToNetmask(prefix: number): string {
  return formatIpv4(prefixMask(prefix));
}

export interface Cidr {
  /** The address as written (e.g. 192.0.2.10 of 192.0.2.10/24). */
  address: string;
  prefix: number;
  /** Network address as a number (address & mask). */
  network: number;
  mask: number;
}

/** `a.b.c.d/len` with 0 ≤ len ≤ 32; null when malformed. The host part may be non-zero (interface addresses). */
export function parseCidr(s: string): Cidr | null {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(s);
  if (!m) return null;
  const ip = parseIpv4(m[1]!);
  const prefix = Number(m[2]);
  if (ip === null || prefix > 32 || !/^(0|[1-9][0-9]?)$/.test(m[2]!)) return null;
  const mask = prefixMask(prefix);
  return { address: m[1]!, prefix, network: (ip & mask) >>> 0, mask };
}

/** True when `ip` lies inside `cidr` (both already well-formed; false otherwise). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const n = parseIpv4(ip);
  const c = parseCidr(cidr);
  if (n === null || c === null) return false;
  return ((n & c.mask) >>> 0) === c.network;
}
