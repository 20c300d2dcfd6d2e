// Shared vocabulary for a network-boot client: what DHCP classification produces and what the boot policy,
// TFTP/HTTP reports and the registry read. A leaf module: it imports nothing from pxed.

/** What the firmware is, derived once from options 60/77/93/175 by dhcp/classify.ts (docs/protocol.md §4). */
export type Firmware =
  | 'bios'
  | 'efi-ia32'
  | 'efi-x64'
  | 'efi-arm32'
  | 'efi-arm64'
  | 'efi-riscv64'
  | 'efi-ia32-http'
  | 'efi-x64-http'
  | 'efi-arm32-http'
  | 'efi-arm64-http'
  | 'efi-riscv64-http'
  | 'unsupported';

export interface BootClient {
  /** Lower-case colon form, e.g. 52:54:00:77:00:10. */
  mac: string;
  /** First known option-93 value (RFC 4578 §2.1, errata 4624: 9 is treated as 7). */
  arch: number;
  firmware: Firmware;
  /** iPXE (option 77 "iPXE" in either encoding, or option 175 present). */
  isIpxe: boolean;
  /** Our own iPXE build (user-class set by our embedded script); implies isIpxe. */
  isOurIpxe: boolean;
  /** Option 60 starts with HTTPClient (UEFI HTTP boot). */
  isHttpClient: boolean;
  /** Option 97 as a lower-case RFC 4122 string, or null when absent/zero/malformed. */
  uuid: string | null;
  /** Option 60 as sent. */
  vendorClass: string | null;
  /** Option 77 entries (RFC 3004 list or iPXE's plain string). */
  userClasses: string[];
}
