// Guards on the token routes against unauthenticated write amplification (docs/security.md). A token revoked longer
// than REVOKED_GRACE_MS ago is treated as unknown: 404 before the body is read, no timeline event. Within the grace
// an installer that repeats its last events after the install ended is still answered (idempotent phone-home).

import type { BootToken } from '../registry/types.js';

/** How long a revoked token is still answered (and its refusals recorded). */
export const REVOKED_GRACE_MS = 15 * 60_000;

/** True when `token` was revoked more than the grace ago: callers answer 404 and write nothing. */
export function revokedLongAgo(token: BootToken, nowMs: number, graceMs = REVOKED_GRACE_MS): boolean {
  return token.revokedAt !== null && nowMs - Date.parse(token.revokedAt) > graceMs;
}
