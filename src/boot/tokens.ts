// Per-boot tokens: minted when an install script is rendered, bound to one MAC and one boot, stored only as a
// sha256 hash (registry BootToken), live until revoked (install finished, machine re-armed, newer boot) or expired.

import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** 32 random bytes (256 bits) as base64url: 43 URL-safe characters. */
export function mintToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored form: sha256 hex of the token text. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A cheap shape check before hashing: what mintToken() produces (and nothing that could be a path or a query). */
export function isTokenShaped(token: string): boolean {
  return /^[A-Za-z0-9_-]{22,128}$/.test(token);
}

/** Identifies one install boot (one rendering of an install script). */
export function newBootId(): string {
  return randomUUID();
}
