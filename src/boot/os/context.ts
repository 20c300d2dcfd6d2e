// Checks on the per-boot context before anything is rendered. These values land in kernel command lines, YAML,
// shell and JSON; they are validated here once (not escaped), so every artifact can use them verbatim.

import { PxedError } from '../../errors.js';
import type { InstallContext } from '../os-profile.js';

/** http://<IPv4 | [IPv6] | host name>[:port], no path, no trailing slash, nothing sh/iPXE/cloud-init treats specially. */
const SERVER_URL = /^http:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;
/** URL-safe base64 (live tokens) or the preview placeholder. */
const TOKEN = /^[A-Za-z0-9_-]{8,128}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function invalid(field: string, message: string): PxedError {
  return new PxedError('ARTIFACT_INVALID', `${field}: ${message}`, { field });
}

/** Throws ARTIFACT_INVALID naming the context field when serverUrl, token or mac is malformed. */
export function checkContext(ctx: InstallContext): void {
  if (!SERVER_URL.test(ctx.serverUrl)) {
    throw invalid('serverUrl', `expected http://<address>[:port] without path or trailing slash, got ${JSON.stringify(ctx.serverUrl)}`);
  }
  if (!TOKEN.test(ctx.token)) throw invalid('token', 'expected a URL-safe token of 8-128 characters [A-Za-z0-9_-]');
  if (!MAC.test(ctx.mac)) throw invalid('mac', `expected a lower-case colon-form MAC, got ${JSON.stringify(ctx.mac)}`);
  const base = `${ctx.serverUrl}/`;
  for (const key of ['phoneHomeUrl', 'eventsUrl', 'nocloudUrl', 'nixosUrl'] as const) {
    const url = ctx[key];
    if (!url.startsWith(base) || /[\s;'"\\`$#&|<>{}]/.test(url)) throw invalid(key, `expected a plain URL under ${base}, got ${JSON.stringify(url)}`);
  }
  if (!ctx.nocloudUrl.endsWith('/') || !ctx.nixosUrl.endsWith('/')) throw invalid('nocloudUrl', 'seed URLs must end with "/"');
}
