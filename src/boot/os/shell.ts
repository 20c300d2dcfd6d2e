// The one shell-escaping helper for everything pxed writes into POSIX sh (install.sh, Subiquity command strings).
// Contract: `sh -c "x=$(shQuote(v))"` leaves exactly v in x, for every string v without NUL (sh cannot hold NUL).

import { PxedError } from '../../errors.js';

/** Characters that never need quoting in POSIX sh words (a subset of Python's shlex.quote safe set). */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes `value` as one POSIX sh word: left bare when it only has safe characters, else single-quoted with each
 * `'` written as `'\''`. Inside single quotes nothing is special (no `$`, `` ` ``, `\`, newline handling).
 * `field` names the value in the ARTIFACT_INVALID error raised for a NUL byte.
 */
export function shQuote(value: string, field = 'value'): string {
  if (value.includes('\0')) {
    throw new PxedError('ARTIFACT_INVALID', `${field}: a NUL byte cannot be passed to the shell`, { field });
  }
  if (SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `NAME=<quoted value>`; NAME must be a valid sh variable name (a programming error otherwise). */
export function shAssign(name: string, value: string, field = name): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid sh variable name ${name}`);
  return `${name}=${shQuote(value, field)}`;
}

/** Quotes each argument and joins them with spaces: one shell command line. */
export function shCommand(args: readonly string[], field = 'command'): string {
  return args.map((a) => shQuote(a, field)).join(' ');
}
