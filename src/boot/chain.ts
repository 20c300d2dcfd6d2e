// Which boot chain a machine gets, and the names the signed chain's files go by.
//
//   ipxe   (default) our iPXE build: undionly.kpxe / snponly.efi / ipxe.efi → /boot.ipxe → /ipxe/<mac>.
//   signed Secure Boot: the Microsoft-signed shim as boot file; the shim fetches `grubx64.efi` from the same TFTP
//          server (its built-in second-stage name); Debian's signed network GRUB reads `grub/grub.cfg` from that
//          server, which chains to the per-MAC config the policy renders (src/boot/grub.ts).
// Only native UEFI x64 and ARM64 PXE clients take the signed chain (Debian signs shim and GRUB for both; on ARM64
// the names are shimaa64.efi / grubaa64.efi): BIOS has no Secure Boot (keeps iPXE), iPXE clients are already past
// the firmware, and HTTP boot clients would need GRUB to fetch over HTTP, which Debian's signed GRUB cannot
// (docs/secure-boot.md), so they keep iPXE too.

import type { SecureBootStage } from '../model/secure-boot.js';
import { parseMac } from '../net/mac.js';
import type { BootClient } from './types.js';

import type { BootChain } from '../model/machine.js';
export { BOOT_CHAINS, type BootChain } from '../model/machine.js';

/** The shim's boot-file name (DHCP `file`) and the name the shim asks for next (shim's DEFAULT_LOADER), per arch. */
export const SHIM_FILE = 'shimx64.efi';
export const GRUB_FILE = 'grubx64.efi';
export const SHIM_FILE_AA64 = 'shimaa64.efi';
export const GRUB_FILE_AA64 = 'grubaa64.efi';
/** GRUB's config under its prefix (`/grub` in Debian's grubnetx64) and the per-MAC name our stub chains to. */
export const GRUB_CFG = 'grub/grub.cfg';
const GRUB_CFG_MAC = /^grub\/grub\.cfg-01-([0-9a-f]{2}(?:[-:][0-9a-f]{2}){5})$/i;

/**
 * Files each signed-chain name is served from, first found wins: Debian's `shim-signed` and `grub-efi-amd64-signed`
 * names, then plain names for roots an operator filled from another distribution (Ubuntu's netboot tarball ships
 * `bootx64.efi` = shim and `grubx64.efi` = its signed GRUB).
 */
export const SIGNED_SOURCES: Readonly<Record<string, readonly string[]>> = {
  [SHIM_FILE]: ['shimx64.efi.signed', 'shimx64.efi', 'bootx64.efi'],
  [GRUB_FILE]: ['grubnetx64.efi.signed', 'grubx64.efi'],
  [SHIM_FILE_AA64]: ['shimaa64.efi.signed', 'shimaa64.efi', 'bootaa64.efi'],
  [GRUB_FILE_AA64]: ['grubnetaa64.efi.signed', 'grubaa64.efi'],
};

/** Debian 12's locations of those files (packages shim-signed, grub-efi-amd64-signed). */
export const DEBIAN_SIGNED_ROOTS: readonly string[] = ['/usr/lib/shim', '/usr/lib/grub/x86_64-efi-signed'];

/** Machine override > host pxe.boot_chain (defaults.pxe < vm < install entry) > daemon default. */
export function resolveBootChain(machine: BootChain | undefined, host: BootChain | null | undefined, fallback: BootChain): BootChain {
  return machine ?? host ?? fallback;
}

/** Whether this client boots through the signed chain when its machine is set to `signed`. */
export function takesSignedChain(client: BootClient): boolean {
  return (client.firmware === 'efi-x64' || client.firmware === 'efi-arm64') && !client.isIpxe && !client.isHttpClient;
}

/** The shim file name for a client that takes the signed chain. */
export function shimFileFor(client: BootClient): string {
  return client.firmware === 'efi-arm64' ? SHIM_FILE_AA64 : SHIM_FILE;
}

/** The `buildarch` an install renders for, from the firmware the DHCP side recorded (x86_64 unless ARM64). */
export function buildArchOf(firmware: string | null): string {
  return firmware === 'efi-arm64' ? 'arm64' : 'x86_64';
}

/** The MAC (colon form, lower case: the one parser, src/net/mac.ts) of a per-MAC GRUB config name, or null. */
export function grubCfgMac(name: string): string | null {
  const m = GRUB_CFG_MAC.exec(name);
  return m ? parseMac(m[1]!) : null;
}

/** The Secure Boot stage a TFTP transfer of `name` stands for (timeline events), or null for other files. */
export function secureBootStage(name: string, kernelPrefix: string): SecureBootStage | null {
  if (name === SHIM_FILE || name === SHIM_FILE_AA64) return 'shim';
  if (name === GRUB_FILE || name === GRUB_FILE_AA64) return 'grub';
  if (name === GRUB_CFG || GRUB_CFG_MAC.test(name)) return 'grub.cfg';
  if (name.startsWith(`${kernelPrefix}/`)) return 'kernel';
  return null;
}
