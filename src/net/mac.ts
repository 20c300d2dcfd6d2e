// The one MAC parser of the project. Every layer (config, registry, DHCP, HTTP, CLI) accepts the same spellings
// and gets the same canonical form: lower-case, colon-separated.

import { PxedError } from '../errors.js';

const CANONICAL_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/**
 * Every spelling parseMac accepts, as one anchored pattern (also published by schemas, e.g. the REST API's OpenAPI
 * document): colon- or dash-separated pairs (one separator throughout), Cisco dotted quads, or 12 bare hex digits.
 */
export const MAC_PATTERN = /^(?:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12})$/;

/**
 * Accepts `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff` (Cisco) and bare `aabbccddeeff`; returns the
 * lower-case colon form, or null when `s` is not a 48-bit MAC in one of those spellings (mixed separators are refused).
 */
export function parseMac(s: unknown): string | null {
  if (typeof s !== 'string') return null;
  // Already canonical: the common case (DHCP chaddr, iPXE ${net0/mac}, the registry's own keys).
  if (CANONICAL_MAC.test(s)) return s;
  const t = s.trim();
  if (!MAC_PATTERN.test(t)) return null;
  return t.replace(/[:.-]/g, '').toLowerCase().match(/../g)!.join(':');
}

/** parseMac, or throw PxedError MAC_INVALID (details {mac}) naming the input. */
export function parseMacOrThrow(input: unknown): string {
  const mac = parseMac(input);
  if (mac === null) {
    throw new PxedError(
      'MAC_INVALID',
      `not a MAC address: ${JSON.stringify(input)} (expected aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff)`,
      { mac: input },
    );
  }
  return mac;
}
