// The one place where values enter an iPXE script. Every URL, kernel argument, host name and echo text that lands
// in a script goes through a function here, so the script means exactly what was intended.
//
// What iPXE does to a script line (ipxe src/core/exec.c, src/image/script.c), and why each rule exists:
//   - a line is one command; there is no line continuation, so CR/LF (and any control character) is refused;
//   - `${name}` / `${name:type}` is expanded *before* the line is split, anywhere in the line — `$` is refused in
//     values (there is no escape for it), except in the trusted literals the scripts write themselves;
//   - the expanded line is split on whitespace into arguments; a value with whitespace would become two
//     arguments, so whitespace is refused (URLs must be percent-encoded);
//   - an argument that is exactly `||` or `&&` chains commands: refused as substrings, conservatively;
//   - a line whose first character is `#` is a comment and `:name` is a label; values never start a line here,
//     but `#` is refused anyway (no legitimate kernel argument or boot URL needs it; URL fragments never reach a
//     server);
//   - iPXE passes quotes through to the kernel, whose command-line parser gives `"` meaning (values with spaces);
//     `"`, `'`, `\` and backticks are refused so the kernel sees the arguments we validated; the one exception is
//     ipxeQuotedArg's `key="w1 w2"`, built from validated words joined by single spaces;
//   - non-ASCII is refused (percent-encode URLs; kernel arguments are ASCII by convention).
// Echo text is informational, so it is sanitised (disallowed characters become `?`) instead of refused.

import { PxedError } from '../errors.js';
import { describeValue, unsafeWordReason } from './words.js';
import { isHostname } from '../config/net.js';

/** Printable ASCII without space and without the characters iPXE or the kernel would interpret (see above). */
const SAFE_ARG = /^[!%&(-[\]-_a-z{|}~]+$/;
const FORBIDDEN_IN_ARG = /[\s$"'\\`#]/;

function invalid(field: string, value: string, why: string): PxedError {
  return new PxedError('BOOT_SCRIPT_INVALID', `${field} ${describeValue(value)} cannot go into an iPXE script: ${why}`, {
    field,
    value,
  });
}

/** Why `value` is not a safe single iPXE argument, or null when it is. */
export function unsafeArgReason(value: string): string | null {
  const why = unsafeWordReason(value);
  if (why !== null) return why;
  if (value.includes('$')) return 'it contains "$" (iPXE expands ${...} settings)';
  if (value.includes('||') || value.includes('&&')) return 'it contains "||" or "&&" (iPXE command chaining)';
  if (FORBIDDEN_IN_ARG.test(value)) return 'it contains a quote, backslash, backtick or "#"';
  if (!SAFE_ARG.test(value)) return 'it contains a character outside the allowed set';
  return null;
}

/** One kernel command-line argument (e.g. `console=ttyS0,115200`, `ds=nocloud;s=http://...`). Throws BOOT_SCRIPT_INVALID. */
export function ipxeArg(value: string, field: string): string {
  const why = unsafeArgReason(value);
  if (why !== null) throw invalid(field, value, why);
  return value;
}

/**
 * A kernel argument whose value is several words, `key="w1 w2 ..."` (systemd.run=, for instance). iPXE splits the
 * line on whitespace and joins the kernel arguments back with single spaces, so the kernel, whose command-line
 * parser groups a double-quoted value, and systemd's (which unquotes it) see the value whole. Each word must be a
 * safe argument by itself (no quote, `$`, backslash, ...); words are joined with one space. Throws
 * BOOT_SCRIPT_INVALID.
 */
export function ipxeQuotedArg(key: string, words: readonly string[], field: string): string {
  const value = `${key}="${words.join(' ')}"`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(key)) throw invalid(field, value, 'its key is not a plain kernel parameter name');
  if (words.length === 0) throw invalid(field, value, 'it has no words');
  for (const w of words) {
    const why = unsafeArgReason(w);
    if (why !== null) throw invalid(field, value, `the word ${describeValue(w)}: ${why}`);
  }
  return value;
}

/** One kernel argument as a cmdline holds it: `key="w1 w2"` (ipxeQuotedArg's form) or a plain ipxeArg. */
export function ipxeKernelArg(value: string, field: string): string {
  const m = /^([^"\s]+)="([^"]*)"$/.exec(value);
  if (m === null) return ipxeArg(value, field);
  return ipxeQuotedArg(m[1]!, m[2]!.split(' '), field);
}

/** Splits a kernel command line into arguments; a double-quoted part keeps its spaces (`key="a b"` is one). */
export function splitKernelArgs(cmdline: string): string[] {
  return cmdline.match(/(?:[^\s"]+|"[^"]*"?)+/g) ?? [];
}

/**
 * An absolute http(s) URL with an IP-literal or DNS host, used as one iPXE argument (kernel, initrd, chain).
 * Throws BOOT_SCRIPT_INVALID.
 */
export function ipxeUrl(value: string, field: string): string {
  const why = unsafeArgReason(value);
  if (why !== null) throw invalid(field, value, why);
  const m = /^https?:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(\/[^?]*)?(\?.*)?$/.exec(value);
  if (!m) throw invalid(field, value, 'it is not an absolute http:// or https:// URL');
  // Percent-escapes must be well formed, or the server and iPXE disagree on the path.
  if (/%(?![0-9A-Fa-f]{2})/.test(value)) throw invalid(field, value, 'it contains a malformed %-escape');
  return value;
}

/** An RFC 1123 host name. Throws BOOT_SCRIPT_INVALID. */
export function ipxeHostname(value: string, field = 'hostname'): string {
  if (!isHostname(value)) throw invalid(field, value, 'it is not an RFC 1123 host name');
  return value;
}

/**
 * Text for `echo`: characters outside a conservative printable set become `?`, runs of whitespace become one
 * space, and the result is cut to 200 characters. Never throws. Callers prefix it (e.g. "pxed: ") so it never
 * starts with `-` (echo would parse it as an option).
 */
export function ipxeEchoText(text: string): string {
  const clean = text
    .replace(/\s+/g, ' ')
    .replace(/[^A-Za-z0-9 .,:;/_+=@()[\]<>!?%*-]/g, '?')
    .trim();
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}

/** An asset-relative path as a URL path: each segment percent-encoded (RFC 3986 unreserved kept). */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * The last path segment of a URL or path, without query: what iPXE names a downloaded image, and so what the
 * kernel's `initrd=` must name for the EFI stub to find it.
 */
export function imageName(urlOrPath: string): string {
  const noQuery = urlOrPath.split(/[?#]/, 1)[0] ?? '';
  const seg = noQuery.split('/').filter((s) => s.length > 0).pop() ?? '';
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** Joins script lines into the document iPXE fetches (`#!ipxe` first, LF endings, trailing newline). */
export function ipxeScript(lines: readonly string[]): string {
  const out = ['#!ipxe', ...lines];
  for (const l of out) {
    if (/[\r\n]/.test(l)) throw new PxedError('BOOT_SCRIPT_INVALID', `internal: script line contains a line break: ${describeValue(l)}`);
  }
  return out.join('\n') + '\n';
}
