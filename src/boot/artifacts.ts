// Token routes: the install artifacts an installer fetches with its per-boot token (user-data, install.sh, ...).
// A live token gets the artifact and moves the machine to installing; an expired or revoked one, or one presented
// from an address it is not bound to (guard.ts), is refused (the same 404 as an unknown token) and recorded; an artifact that fails its own validation fails the install (the console and timeline say why).

import { isPxedError } from '../errors.js';
import { BootEvents } from '../model/events.js';
import type { Attribution } from './attribution.js';
import { failInstall } from './phone-home.js';
import type { ScriptRenderer } from './render.js';
import { hostOf, type PolicyContext } from './settings.js';
import type { BootTokens } from './tokens.js';
import type { HttpDocument, TokenArtifactRequest } from './types.js';

export interface ArtifactParts {
  tokens: BootTokens;
  renderer: ScriptRenderer;
  attribution: Attribution;
}

/** The artifact for a token route; null = 404 (unknown token or artifact, or a refused token). */
export function tokenArtifact(ctx: PolicyContext, parts: ArtifactParts, req: TokenArtifactRequest): HttpDocument | null {
  const route = `${req.family}/${req.name}`;
  const r = parts.tokens.resolveFrom(req.token, req.clientAddress, route);
  if (r === null) return null;
  if (r.status !== 'live') return parts.tokens.refuse(r, route, req.clientAddress);
  const { machine } = r;
  const host = hostOf(ctx, machine);
  if (host === null) return null;
  let doc: HttpDocument | null;
  try {
    doc = parts.renderer.artifact(host, machine.mac, req.token, req.family, req.name);
  } catch (err) {
    if (isPxedError(err, 'ARTIFACT_INVALID')) {
      const field = typeof err.details?.field === 'string' ? err.details.field : 'unknown field';
      const reason = `generated ${route} is invalid (${field}): ${err.message}`;
      failInstall(ctx, machine, reason, { route, field, bootId: r.token.bootId });
    }
    throw err;
  }
  if (doc === null) return null;
  parts.attribution.note(req.clientAddress, machine.mac);
  const bytes = Buffer.byteLength(doc.body);
  ctx.registry.atomically(() => {
    ctx.registry.eventAppend(machine.mac, BootEvents.artifact({ route, bootId: r.token.bootId, bytes, client: req.clientAddress }));
    if (machine.state === 'booting' || machine.state === 'stalled') {
      ctx.registry.machineTransition(machine.mac, 'installing', `installer fetched ${route}`, { bootId: r.token.bootId });
    }
  });
  return doc;
}
