// MAC addresses at the registry edge: every method normalises its MAC argument, so rows and results are always
// lower-case colon form whatever spelling a caller (CLI, API, DHCP) used.

import { PxedError } from '../errors.js';

/**
 * Accepts `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff` (Cisco) and bare `aabbccddeeff` (iPXE
 * `${mac:hexraw}`); returns the lower-case colon form, or null for anything else (mixed separators included).
 * Same spellings as the provisioning config accepts.
 */
export function parseMac(input: string): string | null {
  const t = input.trim();
  let hex: string | null = null;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(t)) hex = t.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(t)) hex = t.replace(/\./g, '');
  else if (/^[0-9a-f]{12}$/i.test(t)) hex = t;
  if (hex === null) return null;
  return hex.toLowerCase().replace(/(..)(?!$)/g, '$1:');
}

/** parseMac or throw PxedError REGISTRY_BAD_MAC naming the input. */
export function normalizeMac(input: string): string {
  const mac = typeof input === 'string' ? parseMac(input) : null;
  if (mac === null) {
    throw new PxedError(
      'REGISTRY_BAD_MAC',
      `not a MAC address: ${JSON.stringify(input)} (expected aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff)`,
      { mac: input },
    );
  }
  return mac;
}
