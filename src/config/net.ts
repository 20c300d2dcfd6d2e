// Pure validators and normalisers for network-ish config values: MACs, IPv4 addresses and CIDRs, RFC 1123 host
// names, SSH public keys. No I/O; used by the zod schemas and by the cross-file checks in load.ts.

// IPv4 parsing lives in src/net (one parser), re-exported here for the config schemas; MACs: src/net/mac.ts parseMac.
export { parseIpv4, isIpv4, formatIpv4, parseCidr, ipInCidr, type Cidr } from '../net/ipv4.js';

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
