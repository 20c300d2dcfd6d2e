// Shared vocabulary for an address lease of full DHCP mode: what the DHCP server hands out (its LeaseStore port,
// dhcp/ports.ts) and the registry stores. A leaf module: it imports nothing from pxed.

export const LEASE_STATES = ['offered', 'bound', 'released', 'declined'] as const;

export type LeaseState = (typeof LEASE_STATES)[number];

/** One address lease of full DHCP mode. Times are ISO-8601 strings. */
export interface Lease {
  ip: string;
  mac: string;
  hostname: string | null;
  state: LeaseState;
  expiresAt: string;
  updatedAt: string;
}
