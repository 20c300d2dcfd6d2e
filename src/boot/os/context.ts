// Checks on the per-boot context before anything is rendered. These values land in kernel command lines, YAML,
// shell and JSON; they are validated here once (not escaped), so every artifact can use them verbatim.

import { PxedError } from '../../errors.js';
import { parseMac } from '../../net/mac.js';
import type { HostSpec } from '../../config/provisioning.js';
import type { InstallContext } from '../os-profile.js';

/** http://<IPv4 | [IPv6] | host name>[:port], no path, no trailing slash, nothing sh/iPXE/cloud-init treats specially. */
const SERVER_URL = /^http:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;
/** URL-safe base64 (live tokens) or the preview placeholder. */
const TOKEN = /^[A-Za-z0-9_-]{8,128}$/;

export function invalid(field: string, message: string): PxedError {
  return new PxedError('ARTIFACT_INVALID', `${field}: ${message}`, { field });
}

/** The host's catalog image for `os`, or ARTIFACT_INVALID naming what is missing. */
export function imageFor<O extends 'ubuntu' | 'nixos'>(host: HostSpec, os: O): Extract<NonNullable<HostSpec['image']>, { os: O }> {
  if (host.install.os !== os) throw invalid('install.os', `expected ${os}, got ${host.install.os}`);
  const image = host.image;
  if (image === null || image.os !== os) {
    throw invalid('image', `no defaults.images.${os} entry for version ${JSON.stringify(host.install.version)}`);
  }
  return image as Extract<NonNullable<HostSpec['image']>, { os: O }>;
}

/** Throws ARTIFACT_INVALID naming the context field when serverUrl, token or mac is malformed. */
export function checkContext(ctx: InstallContext): void {
  if (!SERVER_URL.test(ctx.serverUrl)) {
    throw invalid('serverUrl', `expected http://<address>[:port] without path or trailing slash, got ${JSON.stringify(ctx.serverUrl)}`);
  }
  if (!TOKEN.test(ctx.token)) throw invalid('token', 'expected a URL-safe token of 8-128 characters [A-Za-z0-9_-]');
  if (parseMac(ctx.mac) !== ctx.mac) throw invalid('mac', `expected a lower-case colon-form MAC, got ${JSON.stringify(ctx.mac)}`);
  const base = `${ctx.serverUrl}/`;
  for (const key of ['phoneHomeUrl', 'eventsUrl', 'nocloudUrl', 'nixosUrl'] as const) {
    const url = ctx[key];
    if (!url.startsWith(base) || /[\s;'"\\`$#&|<>{}]/.test(url)) throw invalid(key, `expected a plain URL under ${base}, got ${JSON.stringify(url)}`);
  }
  if (!ctx.nocloudUrl.endsWith('/') || !ctx.nixosUrl.endsWith('/')) throw invalid('nocloudUrl', 'seed URLs must end with "/"');
}

/** Device paths install.sh and Subiquity accept: /dev/ plus a conservative character set (no shell or YAML meaning). */
export const DISK_PATH = /^\/dev\/[A-Za-z0-9/_.:+-]+$/;
/** C0 and C1 controls and the Unicode line/paragraph separators. */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/**
 * Host checks beyond the config schema, for values whose meaning would change in an artifact even when escaped
 * correctly: a line break in an SSH key line would add a second authorized_keys entry; a control character in a
 * password hash or shell path cannot be what the operator meant. Throws ARTIFACT_INVALID naming the field.
 */
export function checkHost(host: HostSpec): void {
  host.install.users.forEach((u, i) => {
    u.ssh_authorized_keys.forEach((k, j) => {
      if (CONTROL.test(k)) throw invalid(`install.users[${i}].ssh_authorized_keys[${j}]`, 'an SSH key must be one line without control characters');
    });
    if (u.password_hash !== null && CONTROL.test(u.password_hash)) throw invalid(`install.users[${i}].password_hash`, 'contains a control character');
    if (CONTROL.test(u.shell)) throw invalid(`install.users[${i}].shell`, 'contains a control character');
  });
  const disk = host.install.partitioning.disk;
  if (disk !== null && !DISK_PATH.test(disk)) {
    throw invalid('install.partitioning.disk', `expected a device path of letters, digits and / _ . : + - under /dev/, got ${JSON.stringify(disk)}`);
  }
}
