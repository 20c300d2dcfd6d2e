// Pure validators and normalisers for network-ish config values: MACs, IPv4 addresses and CIDRs, RFC 1123 host
// names, SSH public keys. No I/O; used by the zod schemas and by the cross-file checks in load.ts.

const CANONICAL_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/**
 * Accepts `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff` (Cisco) and bare `aabbccddeeff`; returns the
 * lower-case colon form, or null when `s` is not a 48-bit MAC in one of those spellings (mixed separators are refused).
 */
export function normalizeMac(s: string): string | null {
  // Already canonical: the common case (DHCP chaddr, iPXE ${net0/mac}, the registry's own keys).
  if (CANONICAL_MAC.test(s)) return s;
  const t = s.trim();
  let hex: string | null = null;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(t)) hex = t.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(t)) hex = t.replace(/\./g, '');
  else if (/^[0-9a-f]{12}$/i.test(t)) hex = t;
  if (hex === null) return null;
  return hex.toLowerCase().match(/../g)!.join(':');
}

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

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
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
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { address: m[1]!, prefix, network: (ip & mask) >>> 0, mask };
}

/** True when `ip` lies inside `cidr` (both already well-formed; false otherwise). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const n = parseIpv4(ip);
  const c = parseCidr(cidr);
  if (n === null || c === null) return false;
  return ((n & c.mask) >>> 0) === c.network;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** One RFC 1123 label: 1-63 of letters, digits and '-', not starting or ending with '-'. */
export function isHostLabel(s: string): boolean {
  return LABEL.test(s);
}

/** An RFC 1123 host name: dot-separated labels, at most 253 characters, no trailing dot. */
export function isHostname(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every(isHostLabel);
}

const SSH_KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/**
 * An OpenSSH public key line: `<type> <base64> [comment]`, where the base64 blob decodes and starts with the
 * length-prefixed type name (that is how OpenSSH encodes it; catches pasted private keys and truncated blobs).
 */
export function isSshPublicKey(s: string): boolean {
  const parts = s.trim().split(/\s+/);
  const [type, blob] = parts;
  if (type === undefined || blob === undefined || !SSH_KEY_TYPES.test(type)) return false;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0) return false;
  const raw = Buffer.from(blob, 'base64');
  if (raw.length < 4 + type.length) return false;
  const len = raw.readUInt32BE(0);
  return len === type.length && raw.subarray(4, 4 + len).toString('latin1') === type;
}
