// BootSettings from the parsed daemon config, for the app wiring. The server address is resolved by the caller
// (config/daemon.ts resolveServerAddress) because it may come from an interface.

import type { DaemonConfig } from '../config/daemon.js';
import type { BootSettings } from './policy.js';

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
    signed: { roots: cfg.tftp.signed_roots, assetRoots: cfg.http.asset_roots },
    ...over,
  };
}
