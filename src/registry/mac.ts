// MAC addresses at the registry edge: every method normalises its MAC argument, so rows and results are always
// lower-case colon form whatever spelling a caller (CLI, API, DHCP) used.

import { normalizeMac as normalizeConfigMac } from '../config/net.js';
import { PxedError } from '../errors.js';

/**
 * Lower-case colon form of any accepted spelling (`aa:bb:..`, `AA-BB-..`, `aabb.ccdd.eeff`, bare hex), or null.
 * One parser for the whole project: the provisioning config's (config/net.ts).
 */
export const parseMac: (input: string) => string | null = normalizeConfigMac;

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
