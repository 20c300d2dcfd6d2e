// The policy's settings and the context its parts share; BootSettings from the parsed daemon config, for the app
// wiring. The server address is resolved by the caller
// (config/daemon.ts resolveServerAddress) because it may come from an interface.

import type { DaemonConfig } from '../config/daemon.js';
import type { HostSpec } from '../config/provisioning.js';
import type { Logger } from '../log.js';
import type { Clock } from '../model/clock.js';
import type { InstallMode } from '../model/machine.js';
import type { MachineRegistry } from '../registry/types.js';
import type { BootChain } from './chain.js';
import type { WriteGate, WriteLimits } from './budget.js';
import type { LocalBootMethod } from './scripts.js';
import type { UefiStrategy } from './types.js';

export function bootSettingsFromConfig(cfg: DaemonConfig, serverAddress: string, over: Partial<BootSettings> = {}): BootSettings {
  return {
    serverAddress,
    httpPort: cfg.http.port,
    unknownMacs: cfg.policy.unknown_macs,
    bootDiscovered: false,
    installMode: cfg.policy.install_mode,
    uefiStrategy: cfg.dhcp.uefi_strategy,
    // Per-host pxe.efi_binary (defaults.pxe < vm < install entry) overrides this.
    efiBinary: 'snponly.efi',
    localBoot: { bios: cfg.policy.local_boot.bios, efi: cfg.policy.local_boot.efi },
    tokenTtlMinutes: cfg.policy.token_ttl_minutes,
    watchdogMinutes: cfg.policy.install_watchdog_minutes,
    scriptMintsPerMinute: cfg.policy.script_mints_per_minute,
    bindTokens: cfg.policy.bind_tokens,
    writeLimits: {
      perMac: cfg.policy.limits.writes_per_mac_per_minute,
      perAddress: cfg.policy.limits.writes_per_address_per_minute,
      discoveries: cfg.policy.limits.discoveries_per_minute,
    },
    maxDiscovered: cfg.policy.limits.max_discovered,
    signed: { roots: cfg.tftp.signed_roots, assetRoots: cfg.http.asset_roots },
    ...over,
  };
}

/** The daemon settings the policy needs (from configs/pxed.yaml, resolved once at start-up). */
export interface BootSettings {
  /** Our IPv4 address on the provisioning network: siaddr, and the host of every URL we hand out. */
  serverAddress: string;
  httpPort: number;
  /** Unknown MACs: stay silent, or record them as `discovered` (and still stay silent). */
  unknownMacs: 'ignore' | 'discover';
  /** Answer DHCP for `discovered` machines so they reach a script explaining how to register them. Default false. */
  bootDiscovered?: boolean;
  /** Default install mode for machines created without one. */
  installMode: InstallMode;
  /** Default UEFI :67 strategy (machine override > host pxe.uefi_strategy > this). */
  uefiStrategy: UefiStrategy;
  /** Default iPXE EFI binary (machine override > host pxe.efi_binary > this). */
  efiBinary: 'snponly.efi' | 'ipxe.efi';
  /** How iPXE leaves for the local disk, by iPXE ${platform}. */
  localBoot: { bios: LocalBootMethod; efi: 'exit' };
  tokenTtlMinutes: number;
  /** booting/installing with no event for this long → stalled. */
  watchdogMinutes: number;
  /** Install scripts (token mints) per MAC per minute (guard.ts; default DEFAULT_MINTS_PER_MINUTE). */
  scriptMintsPerMinute?: number;
  /** Tokens accepted only from the address their script went to, or DHCP saw for the MAC (default true). */
  bindTokens?: boolean;
  /** Unauthenticated write budgets (budget.ts; DEFAULT_WRITE_LIMITS for what is not given). */
  writeLimits?: Partial<WriteLimits>;
  /** Discovered machines kept at most; the oldest unadopted are removed beyond it (default DEFAULT_MAX_DISCOVERED). */
  maxDiscovered?: number;
  /** Default boot chain (machine override > host pxe.boot_chain > this); 'ipxe' when absent. */
  bootChain?: BootChain;
  /**
   * The signed chain's TFTP files (signed.ts): roots holding the signed shim/GRUB, and the asset roots GRUB loads
   * kernels from. Absent: pxed generates no TFTP files.
   */
  signed?: { roots: readonly string[]; assetRoots: readonly string[] };
}

/** What every part of the boot policy reads: built once by the BootPolicy facade. */
export interface PolicyContext {
  readonly registry: MachineRegistry;
  /** The validated provisioning model; only install entries by name are read. */
  readonly provisioning: { hostByName(name: string): HostSpec | null };
  readonly settings: BootSettings;
  readonly clock: Clock;
  readonly log: Logger;
  /** http://<serverAddress>:<httpPort> */
  readonly serverUrl: string;
  /** Budgets of unauthenticated timeline writes (budget.ts). */
  readonly writes: WriteGate;
}

/** The install entry a machine names, or null. */
export function hostOf(ctx: Pick<PolicyContext, 'provisioning'>, machine: { host: string | null }): HostSpec | null {
  return machine.host === null ? null : ctx.provisioning.hostByName(machine.host);
}
