// Field schemas shared by the three provisioning inputs (src/config/provisioning.ts has the layering): MACs, IPv4
// addresses, host names, SSH keys, versions, and the per-host PXE knobs. No zod defaults (see provisioning.ts).

import { z } from 'zod';
import { BOOT_CHAINS, EFI_BINARIES, INSTALL_MODES, UEFI_STRATEGIES } from '../model/machine.js';
import { parseMac } from '../net/mac.js';
import { isHostLabel, isHostname, isIpv4, isSshPublicKey, parseCidr } from './net.js';

/** A MAC in any accepted spelling, output in lower-case colon form. */
export const macSchema = z
  .string()
  .refine((s) => parseMac(s) !== null, {
    message: 'expected a MAC address like 52:54:00:12:34:56, 52-54-00-12-34-56 or 5254.0012.3456',
  })
  .transform((s) => parseMac(s)!);

export const ipv4Schema = z.string().refine(isIpv4, { message: 'expected an IPv4 address like 192.0.2.10' });
export const cidrSchema = z
  .string()
  .refine((s) => parseCidr(s) !== null, { message: 'expected an IPv4 address with prefix length like 192.0.2.10/24' });
export const hostnameSchema = z
  .string()
  .refine(isHostname, { message: 'expected an RFC 1123 host name (letters, digits, "-", dot-separated labels of 1-63)' });
/** A single-label name (VM names double as host names). */
export const hostLabelSchema = z.string().refine(isHostLabel, {
  message: 'expected an RFC 1123 host label: 1-63 letters, digits or "-", not starting or ending with "-"',
});
export const sshKeySchema = z.string().refine(isSshPublicKey, {
  message: 'expected an OpenSSH public key line: "ssh-ed25519|ssh-rsa|ecdsa-sha2-*|sk-* <base64> [comment]"',
});
/** A version string. YAML reads 24.04 unquoted as a number (and 22.10 as 22.1), so numbers are refused. */
export const versionSchema = z
  .string({ error: 'expected a version string; quote it, e.g. "24.04"' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'expected a version like "24.04" or "unstable"' });

export const efiBinarySchema = z.enum(EFI_BINARIES);
export const uefiStrategySchema = z.enum(UEFI_STRATEGIES);
export const installModeSchema = z.enum(INSTALL_MODES);
/** ipxe: our iPXE chain; signed: Secure Boot through the signed shim → GRUB (src/boot/chain.ts). */
export const bootChainSchema = z.enum(BOOT_CHAINS);
/** A directory under the asset roots: relative, no `..` segment, plain characters. */
export const assetDirSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/, {
    message: 'expected a relative directory under the asset roots (letters, digits, . _ -, no leading / or ..)',
  })
  .refine((d) => !d.split('/').includes('..'), { message: 'must not contain ..' });

/** Per-host PXE knobs (defaults.pxe < vm < install entry). */
export const pxeSettingsSchema = z.strictObject({
  /** Which iPXE EFI binary UEFI PXE ROMs chain to (snponly.efi uses the firmware's NIC driver). */
  efi_binary: efiBinarySchema.optional(),
  /** How the proxy-DHCP OFFER anchors a UEFI PXE boot (see UefiStrategy in src/model/machine.ts). */
  uefi_strategy: uefiStrategySchema.optional(),
  /** ipxe (default) or signed (Secure Boot: shim → GRUB, docs/secure-boot.md). */
  boot_chain: bootChainSchema.optional(),
  /**
   * Signed chain: the directory under the asset roots holding this OS's own signed shim and GRUB (Ubuntu's netboot
   * tarball `amd64/`: bootx64.efi, grubx64.efi); absent: tftp.signed_roots (Debian's).
   */
  signed_loaders: assetDirSchema.optional(),
});
export type PxeSettings = z.output<typeof pxeSettingsSchema>;
