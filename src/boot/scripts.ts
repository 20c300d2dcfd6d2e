// The iPXE scripts pxed serves, as pure functions of already-decided inputs. Every value goes through
// src/boot/ipxe.ts; golden tests (test/boot/scripts.test.ts) pin each variant as a whole string.
//
// Exit-status contract between the bootstrap and the per-machine scripts (the per-machine script is chained, so
// its `exit` returns to the bootstrap, not to the firmware):
//   - `exit` (status 0) in a per-machine script means "leave network boot": the bootstrap exits too, and the
//     firmware moves on to the next boot device (local disk) — used by local boot, unknown, discovered and failed;
//   - `exit 1` means "this attempt failed" (kernel/initrd download error): the bootstrap retries (bounded).

import { PxedError } from '../errors.js';
import { encodePath, imageName, ipxeArg, ipxeEchoText, ipxeKernelArg, ipxeScript, ipxeUrl } from './ipxe.js';

/** How many times the bootstrap retries (network + script fetch) before it leaves network boot. */
export const BOOTSTRAP_ATTEMPTS = 5;
export const BOOTSTRAP_RETRY_SECONDS = 3;

/**
 * GET /boot.ipxe. `netX` is the network device iPXE opened last, i.e. the NIC this boot came in on (a multi-NIC
 * machine is identified by its booting NIC, not net0). iPXE settings are passed URL-encoded: string settings with
 * `:uristring`; the MAC as `:hexhyp` (aa-bb-..., URL-safe; the policy accepts it); the UUID in its own (hex and
 * hyphens) format — `:uristring` would reinterpret the raw bytes of these two as text.
 */
export function renderBootstrap(serverUrl: string): string {
  const base = ipxeUrl(`${serverUrl}/ipxe/`, 'server URL');
  const query = [
    'arch=${buildarch:uristring}',
    'platform=${platform:uristring}',
    'uuid=${uuid}',
    'manufacturer=${manufacturer:uristring}',
    'product=${product:uristring}',
    'serial=${serial:uristring}',
  ].join('&');
  return ipxeScript([
    '# pxed bootstrap: bring the network up (bounded retries), then chain this NIC\'s per-machine script.',
    'set pxed-try:int32 0',
    ':pxed-net',
    'isset ${netX/ip} && goto pxed-chain ||',
    'dhcp && goto pxed-chain ||',
    'goto pxed-retry',
    ':pxed-chain',
    `chain --autofree ${base}\${netX/mac:hexhyp}?${query} || goto pxed-retry`,
    'exit',
    ':pxed-retry',
    'inc pxed-try',
    `iseq \${pxed-try} ${BOOTSTRAP_ATTEMPTS} && goto pxed-giveup ||`,
    `echo pxed: no network or no machine script yet (attempt \${pxed-try} of ${BOOTSTRAP_ATTEMPTS}), retrying in ${BOOTSTRAP_RETRY_SECONDS} s`,
    `sleep ${BOOTSTRAP_RETRY_SECONDS} ||`,
    'dhcp ||',
    'goto pxed-net',
    ':pxed-giveup',
    `echo pxed: giving up after ${BOOTSTRAP_ATTEMPTS} attempts; leaving network boot`,
    'exit 1',
  ]);
}

export interface InstallScriptInput {
  mac: string;
  hostname: string;
  /** 'ubuntu' | 'nixos' | 'custom' (for the echo line). */
  os: string;
  bootId: string;
  /** Absolute URLs. */
  kernelUrl: string;
  initrdUrls: readonly string[];
  /** Kernel arguments, without initrd= (added here, one per initrd, in load order). */
  args: readonly string[];
}

/**
 * Absolute URL for a kernel/initrd reference: an http(s) URL is kept, an asset-relative path becomes
 * `<serverUrl>/assets/<path>` (each segment percent-encoded).
 */
export function assetUrl(serverUrl: string, ref: string): string {
  if (/^https?:\/\//.test(ref)) return ref;
  return `${serverUrl}/assets/${encodePath(ref.replace(/^\/+/, ''))}`;
}

/** An install script: kernel + initrd(s) + boot. Throws BOOT_SCRIPT_INVALID naming the offending value. */
export function renderInstall(input: InstallScriptInput): string {
  const kernel = ipxeUrl(input.kernelUrl, 'kernel URL');
  const initrds = input.initrdUrls.map((u, i) => ipxeUrl(u, `initrd URL ${i + 1}`));
  const names = initrds.map(imageName);
  const initrdArgs: string[] = [];
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    // iPXE names each image after its URL's last segment; the EFI stub finds initrds by those names.
    ipxeArg(name, `initrd name ${i + 1}`);
    if (seen.has(name)) {
      throw new PxedError('BOOT_SCRIPT_INVALID', `two initrds are both called "${name}"; the kernel could not tell them apart`, {
        field: `initrd URL ${i + 1}`,
        value: initrds[i],
      });
    }
    seen.add(name);
    if (!input.args.includes(`initrd=${name}`)) initrdArgs.push(`initrd=${name}`);
  }
  const args = [...initrdArgs, ...input.args.map((a, i) => ipxeKernelArg(a, `kernel argument ${i + 1}`))];
  const who = ipxeEchoText(`${input.hostname} (${input.mac})`);
  return ipxeScript([
    `# pxed install: ${who}, boot ${ipxeEchoText(input.bootId)}`,
    `echo pxed: installing ${ipxeEchoText(input.os)} on ${who}`,
    `kernel ${[kernel, ...args].join(' ')} || goto pxed-fail`,
    ...initrds.map((u) => `initrd ${u} || goto pxed-fail`),
    'boot || goto pxed-fail',
    ':pxed-fail',
    'echo pxed: loading the installer failed; the bootstrap will retry',
    'exit 1',
  ]);
}

/** How iPXE hands over to the local disk (daemon policy.local_boot). */
export type LocalBootMethod = 'exit' | 'sanboot';

/**
 * Local boot for an installed machine in 'once' mode. `exit` returns to the firmware, which boots the next entry
 * in its boot order (the disk) — the right thing on UEFI. On BIOS, `sanboot --no-describe --drive 0x80` boots the
 * first hard disk directly; should it fail, `exit` still leaves network boot.
 */
export function renderLocalBoot(mac: string, hostname: string, method: LocalBootMethod): string {
  const who = ipxeEchoText(`${hostname} (${mac})`);
  return ipxeScript([
    `# pxed local boot: ${who} is installed (install mode once).`,
    `echo pxed: ${who} is installed; booting from the local disk`,
    ...(method === 'sanboot' ? ['sanboot --no-describe --drive 0x80 ||'] : []),
    'exit',
  ]);
}

/** A discovered machine (policy unknown_macs: discover): say what it is and how to register it, then leave. */
export function renderDiscovered(mac: string): string {
  const m = ipxeEchoText(mac);
  return ipxeScript([
    '# pxed: discovered machine without an install entry.',
    `echo pxed: machine ${m} is known to pxed but has no install entry`,
    `echo pxed: adopt it on the admin page, or with: pxed machines adopt ${m} --host ENTRY`,
    'echo pxed: leaving network boot in 10 s',
    'sleep 10 ||',
    'exit',
  ]);
}

/** A MAC the registry does not know. */
export function renderUnknown(mac: string): string {
  return ipxeScript([
    '# pxed: unknown machine.',
    `echo pxed: unknown machine ${ipxeEchoText(mac)}; nothing to boot from this server`,
    'exit',
  ]);
}

/**
 * The machine cannot be booted from here right now (install failed, install entry missing, rendering failed).
 * `message` is shown on the console; it is sanitised.
 */
export function renderRefusal(mac: string, message: string): string {
  return ipxeScript([
    '# pxed: not booting this machine over the network.',
    `echo pxed: ${ipxeEchoText(`${mac}: ${message}`)}`,
    'echo pxed: leaving network boot in 10 s',
    'sleep 10 ||',
    'exit',
  ]);
}
