// The admin API bearer token from its configured source (admin.token_file or admin.token_env).
// File rules (docs/security.md): the token is >= 32 characters without whitespace; a group/other-readable file is
// narrowed to 0600 (and the log says so) or refused when that fails; a missing file is created 0600 with a fresh
// token, never through a symlink (a dangling one is refused); an existing empty file is filled and fchmod()ed 0600.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PxedError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DaemonConfig } from './daemon.js';

export const ADMIN_TOKEN_MIN_LENGTH = 32;

const invalid = (file: string, msg: string): PxedError => new PxedError('CONFIG_INVALID', `admin.token_file ${file}: ${msg}`, { file });

/** Throws CONFIG_INVALID unless `token` is long enough and has no whitespace. `where` names the source. */
export function checkAdminToken(token: string, where: string): string {
  if (/\s/.test(token)) throw new PxedError('CONFIG_INVALID', `${where}: the admin token must not contain whitespace`);
  if (token.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new PxedError('CONFIG_INVALID', `${where}: the admin token must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters`);
  }
  return token;
}

function readTokenFile(file: string, log: Logger): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // ENOENT through a dangling symlink: lstat sees the link itself.
      if (fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) throw invalid(file, 'is a symlink to nothing; refusing to create its target');
      return null;
    }
    if (code === 'ELOOP') {
      // A symlink to an existing file: read it (the operator made it), but never write through it.
      return readThroughLink(file, log);
    }
    throw invalid(file, (err as Error).message);
  }
  try {
    return fill(fd, file, log);
  } finally {
    fs.closeSync(fd);
  }
}

function readThroughLink(file: string, log: Logger): string {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st === undefined) throw invalid(file, 'is a symlink to nothing; refusing to create its target');
  if ((st.mode & 0o077) !== 0) throw invalid(file, `target is readable by group/other (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  const v = fs.readFileSync(file, 'utf8').trim();
  if (v === '') throw invalid(file, 'is a symlink to an empty file; refusing to write through it');
  log.debug('admin token read through a symlink', { file });
  return checkAdminToken(v, `admin.token_file ${file}`);
}

/** Narrows the mode, then reads; an empty file gets a fresh token written into it (and fchmod 0600 again). */
function fill(fd: number, file: string, log: Logger): string {
  const st = fs.fstatSync(fd);
  if (!st.isFile()) throw invalid(file, 'is not a regular file');
  if ((st.mode & 0o077) !== 0) {
    try {
      fs.fchmodSync(fd, 0o600);
    } catch (err) {
      throw invalid(file, `is readable by group/other (mode ${(st.mode & 0o777).toString(8)}) and cannot be narrowed: ${(err as Error).message}`);
    }
    log.warn('admin token file was readable by group/other: narrowed to 0600', { file, was: (st.mode & 0o777).toString(8) });
  }
  const v = fs.readFileSync(fd, 'utf8').trim();
  if (v !== '') return checkAdminToken(v, `admin.token_file ${file}`);
  const token = randomBytes(32).toString('base64url');
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, token + '\n', 0);
  fs.fchmodSync(fd, 0o600);
  fs.fsyncSync(fd);
  log.info('wrote a new admin API token into the empty token file', { file });
  return token;
}

/**
 * The admin API token from its configured source. A missing token file is created with a fresh random token
 * (mode 0600, O_EXCL: never through a symlink) so that the first start works without a secret in the config; an
 * unset env var disables the API. Throws CONFIG_INVALID for a token or file that breaks the rules above.
 */
export function resolveAdminToken(admin: DaemonConfig['admin'], env: NodeJS.ProcessEnv, log: Logger): string | null {
  if (admin.token_env !== undefined) {
    const v = env[admin.token_env]?.trim();
    if (!v) {
      log.warn('admin token environment variable is empty: /api/v1 answers 401 to everything', { env: admin.token_env });
      return null;
    }
    return checkAdminToken(v, `environment variable ${admin.token_env}`);
  }
  const file = admin.token_file!;
  const existing = readTokenFile(file, log);
  if (existing !== null) return existing;
  const token = randomBytes(32).toString('base64url');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw invalid(file, `cannot create: ${(err as Error).message}`);
  }
  try {
    fs.writeSync(fd, token + '\n');
    fs.fchmodSync(fd, 0o600);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  log.info('generated a new admin API token', { file });
  return token;
}
