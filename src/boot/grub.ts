// grub.cfg generation for the signed Secure Boot chain (shim → GRUB → kernel), and the one place where values enter
// a GRUB config: every path and echo text goes through grubWord(), every kernel argument through grubKernelArg().
//
// GRUB's script lexer (GRUB manual, "Shell-like scripting" / "Quoting"): words split on blanks; `{ } | & $ ; < >`
// and newline are metacharacters; `$name`/`${name}` expand outside single quotes and inside double quotes. Inside
// single quotes every character is literal and a single quote cannot occur, even after a backslash. So a value is
// made one literal word by single-quoting it, with each `'` written as `'\''` (close, escaped quote, reopen).
// On top of that, values are refused when GRUB or the kernel would still read them differently from what we mean:
// line breaks and control characters (one command per line; a quoted newline would continue the word across lines),
// non-ASCII, whitespace (one value = one kernel argument), and `"` (the kernel's command-line parser groups words
// between double quotes).
//
// Firmware facts the configs below rely on (measured on Debian 12, docs/secure-boot.md):
//   - Debian's signed grubnetx64.efi (GRUB 2.06) reads `$prefix/grub.cfg` with prefix `(tftp,<siaddr>)/grub` and
//     asks for no per-MAC names; the stub config we serve there chains to `grub.cfg-01-${net_default_mac}`
//     (GRUB sets net_default_mac in colon form, lower case).
//   - Debian's signed network GRUB has no http module (measured: `linux (http,<server>)/…` → "disk `http,<server>'
//     not found"; upstream 2.06 could not take a port either), so the kernel and initrds come over TFTP from the
//     same server, under `pxed/assets/` (asset roots, src/boot/signed.ts).
//   - Under Secure Boot GRUB's `linux` verifies the kernel through the shim protocol; a refused signature prints
//     "bad shim signature" and the config goes on to our failure message.

import { PxedError } from '../errors.js';
import { describeValue, unsafeWordReason } from './words.js';

/** TFTP path prefix under which the signed chain's GRUB loads kernels and initrds (files from the asset roots). */
export const GRUB_ASSET_PREFIX = 'pxed/assets';

/** Why `value` cannot be one GRUB word / kernel argument, or null when it can. */
export function unsafeGrubReason(value: string): string | null {
  const why = unsafeWordReason(value);
  if (why !== null) return why;
  if (value.includes('"')) return 'it contains a double quote (the kernel groups quoted words)';
  return null;
}

/**
 * One literal GRUB word: `value` validated (see above) and single-quoted, so `$`, `;`, `{`, `|`, `#` and friends
 * reach the command as written. Throws BOOT_SCRIPT_INVALID naming `field`.
 */
export function grubWord(value: string, field: string): string {
  const why = unsafeGrubReason(value);
  if (why !== null) {
    throw new PxedError('BOOT_SCRIPT_INVALID', `${field} ${describeValue(value)} cannot go into a GRUB config: ${why}`, { field, value });
  }
  return grubQuote(value);
}

/** Single-quotes an already validated value as one literal GRUB word (each `'` as `'\''`). */
function grubQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * One kernel argument as a command line holds it (splitKernelArgs, src/boot/ipxe.ts: `key="w1 w2"` or a plain
 * word) as the GRUB word that gives the kernel the same argument. GRUB's `linux` builds the kernel command line from
 * its words (grub-core/lib/cmdline.c, grub_create_loader_cmdline; docs/secure-boot.md): a word containing a space
 * is wrapped in double quotes, and every `\`, `'` and `"` in it gets a `\` in front, which the kernel does not
 * remove. So `key="w1 w2"` goes to GRUB as the word `key=w1 w2` (the kernel then reads `"key=w1 w2"`: parameter
 * key, value `w1 w2`, as from `key="w1 w2"`), and an argument with `\`, `'` or another `"` is refused. Throws
 * BOOT_SCRIPT_INVALID naming `field`.
 */
export function grubKernelArg(arg: string, field: string): string {
  const refuse = (why: string): never => {
    throw new PxedError('BOOT_SCRIPT_INVALID', `${field} ${describeValue(arg)} cannot go into a GRUB config: ${why}`, { field, value: arg });
  };
  const quoted = /^([^"\s]+)="([^"]*)"$/.exec(arg);
  const words = quoted === null ? [arg] : quoted[2]!.split(' ');
  for (const w of quoted === null ? words : [quoted[1]!, ...words]) {
    const why = unsafeGrubReason(w);
    if (why !== null) refuse(quoted === null ? why : `the word ${describeValue(w)}: ${why}`);
    if (/['\\]/.test(w)) refuse("it contains ' or \\ (GRUB's loader passes them to the kernel with a backslash added)");
  }
  return grubQuote(quoted === null ? arg : `${quoted[1]!}=${words.join(' ')}`);
}

/** Echo text: anything outside a conservative set becomes `?`, blanks become `_`; then quoted. Never throws. */
function grubEcho(text: string): string {
  const clean = text.replace(/\s+/g, '_').replace(/[^A-Za-z0-9_.,:/+=@()[\]-]/g, '?').slice(0, 200);
  return grubWord(clean.length > 0 ? clean : '?', 'echo text');
}

/** Joins config lines (LF endings, trailing newline); a line with a line break is an internal error. */
export function grubConfig(lines: readonly string[]): string {
  for (const l of lines) {
    if (/[\r\n]/.test(l)) throw new PxedError('BOOT_SCRIPT_INVALID', `internal: GRUB line contains a line break: ${describeValue(l)}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The config GRUB reads at `$prefix/grub.cfg`: the same for every client, it chains to the per-MAC config. The
 * variable is expanded by GRUB (trusted literal, not a value).
 */
export function renderGrubChain(): string {
  return grubConfig([
    '# pxed: chain to this machine\'s own config',
    'set timeout=0',
    'configfile "${prefix}/grub.cfg-01-${net_default_mac}"',
    "echo 'pxed: no config for this machine; leaving network boot'",
    'sleep 5',
    'exit',
  ]);
}

export interface GrubInstallInput {
  mac: string;
  hostname: string;
  os: string;
  bootId: string;
  /**
   * Asset-relative paths (the same references the iPXE path turns into /assets/ URLs), or URLs of pxed's own
   * /assets/ route under `serverUrl` (an image catalog pointing at pxed).
   */
  kernel: string;
  initrds: readonly string[];
  /** Kernel arguments as splitKernelArgs gives them (`key="w1 w2"` is one); see grubKernelArg. */
  args: readonly string[];
  /** http://<server>:<port> of this pxed: its /assets/ URLs become asset paths. */
  serverUrl?: string;
}

/** The asset path of a URL under `<serverUrl>/assets/` (percent-decoded), or null for any other reference. */
function ownAssetPath(ref: string, serverUrl: string | undefined, field: string): string | null {
  const base = serverUrl === undefined ? null : `${serverUrl}/assets/`;
  if (base === null || !ref.startsWith(base)) return null;
  try {
    return ref.slice(base.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    throw new PxedError('BOOT_SCRIPT_INVALID', `${field} ${describeValue(ref)} has a malformed percent-encoding`, { field, value: ref });
  }
}

/**
 * An asset reference as the TFTP path GRUB loads it from. URLs of pxed's own /assets/ route are mapped back to their
 * path; other URLs cannot be loaded (no http in Debian's GRUB).
 */
export function grubAssetPath(ref: string, field: string, serverUrl?: string): string {
  const own = ownAssetPath(ref, serverUrl, field);
  if (own !== null) return grubAssetPath(own, field);
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
    throw new PxedError('BOOT_SCRIPT_INVALID', `${field} ${describeValue(ref)} is a URL; the signed chain loads assets by path over TFTP`, {
      field,
      value: ref,
    });
  }
  const rel = ref.replace(/^\/+/, '');
  if (rel.split('/').some((s) => s === '..')) {
    throw new PxedError('BOOT_SCRIPT_INVALID', `${field} ${describeValue(ref)} leaves the asset roots`, { field, value: ref });
  }
  return grubWord(`/${GRUB_ASSET_PREFIX}/${rel}`, field);
}

/** NixOS kernels are signed by no key a shim trusts: under Secure Boot the shim refuses them (docs/secure-boot.md). */
const NIXOS_UNSIGNED =
  "echo 'pxed: the kernel did not start: NixOS kernels are not signed by a key shim trusts; turn Secure Boot off and set boot_chain ipxe for this host'";

/** The install config: kernel with the install command line, initrd(s), boot; a failure says so and leaves. */
export function renderGrubInstall(input: GrubInstallInput): string {
  const kernel = grubAssetPath(input.kernel, 'kernel', input.serverUrl);
  const initrds = input.initrds.map((p, i) => grubAssetPath(p, `initrd ${i + 1}`, input.serverUrl));
  const args = input.args.map((a, i) => grubKernelArg(a, `kernel argument ${i + 1}`));
  const who = `${input.hostname}_(${input.mac})`;
  return grubConfig([
    `# pxed install: ${input.mac}, boot ${input.bootId.replace(/[^A-Za-z0-9_-]/g, '?')}`,
    'set timeout=0',
    `echo ${grubEcho(`pxed: installing ${input.os} on ${who}`)}`,
    `linux ${[kernel, ...args].join(' ')}`,
    ...(initrds.length > 0 ? [`initrd ${initrds.join(' ')}`] : []),
    'boot',
    input.os === 'nixos' ? NIXOS_UNSIGNED : "echo 'pxed: loading or starting the kernel failed (signature refused?)'",
    'sleep 10',
    'exit',
  ]);
}

/** Local boot: `exit` hands control back to the firmware, which boots the next entry of its boot order. */
export function renderGrubLocalBoot(mac: string, hostname: string): string {
  return grubConfig([`echo ${grubEcho(`pxed: ${hostname} (${mac}) is installed; booting from disk`)}`, 'exit']);
}

/** A machine that gets no install: the reason on the console, then back to the firmware. */
export function renderGrubRefusal(mac: string, reason: string): string {
  return grubConfig([`echo ${grubEcho(`pxed: ${mac}: ${reason}`)}`, 'sleep 10', 'exit']);
}
