// Shared fixtures for the boot-policy tests: HostSpecs, a provisioning lookup, stub OS profiles, a settable clock
// and a policy on a fresh in-memory SQLite registry.

import type { HostSpec } from '../../src/config/provisioning.js';
import { PxedError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { BootPolicy, type BootSettings } from '../../src/boot/policy.js';
import { MachineOperations } from '../../src/machines/operations.js';
import { WatchdogService } from '../../src/boot/watchdog.js';
import { MachineAdmin } from '../../src/boot/admin.js';
import type { OsProfile, OsProfiles } from '../../src/boot/os-profile.js';
import type { BootClient, DhcpBootQuery, Firmware } from '../../src/boot/types.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import type { MachineRegistry } from '../../src/registry/types.js';

export const SERVER = '10.77.0.2';
export const PORT = 8080;
export const MAC = '52:54:00:77:00:10';

export function hostSpec(name: string, os: 'ubuntu' | 'nixos' | 'custom', extra: Partial<HostSpec> = {}): HostSpec {
  return {
    name,
    hypervisor: 'proxmox',
    boot_method: 'pxe',
    cpus: 2,
    memory_mb: 2048,
    disks: [{ size_gb: 16, storage: null, type: 'virtio' }],
    // The NIC has the host's MAC (none when extra.mac is null): registering another MAC for it needs `force`.
    netifs: [{ bridge: 'vmbr0', vlan: null, mac: extra.mac === undefined ? MAC : extra.mac, model: 'virtio', mtu: null }],
    proxmox: null,
    baremetal: null,
    mac: MAC,
    install_mode: null,
    pxe: { efi_binary: null, uefi_strategy: null },
    install: {
      os,
      version: os === 'custom' ? null : os === 'ubuntu' ? '24.04' : '24.11',
      packages: [],
      users: [],
      network: { hostname: name, domain: null, dhcp: true, address_cidr: null, gateway: null, dns: [], interfaces: [] },
      docker: false,
      nix_services: [],
      partitioning: { layout: 'lvm', disk: null, swap_mb: null },
      custom:
        os === 'custom'
          ? {
              kernel: 'lab/vmlinuz',
              initrds: ['lab/initrd.gz'],
              cmdline: 'console=ttyS0,115200 pxed.phone_home={{ phone_home_url }} pxed.server={{ server }}:{{ http_port }} pxed.mac={{ mac }} pxed.host={{ hostname }}',
            }
          : null,
    },
    image: null,
    ...extra,
  };
}

export function provisioningOf(hosts: HostSpec[]): { hostByName(name: string): HostSpec | null; hosts: readonly HostSpec[] } {
  return { hostByName: (name) => hosts.find((h) => h.name === name) ?? null, hosts };
}

/** Ubuntu-like and NixOS-like stubs with the shapes the real profiles produce (the policy is what is under test). */
export const stubProfiles: OsProfiles = {
  ubuntu: {
    renderInstall: (_host, ctx) => ({
      kernel: 'ubuntu/24.04/vmlinuz',
      initrds: ['ubuntu/24.04/initrd'],
      cmdline: `ip=dhcp url=http://10.77.0.2:8080/assets/ubuntu/24.04/ubuntu-24.04-live-server-amd64.iso cloud-config-url=/dev/null autoinstall ds=nocloud;s=${ctx.nocloudUrl} ---`,
    }),
    renderArtifact: (family, name, host, ctx) => {
      if (family !== 'nocloud') return null;
      if (name === 'user-data') {
        if (host.install.packages.includes('bad;pkg')) {
          throw new PxedError('ARTIFACT_INVALID', 'packages[0]: not a package name', { field: 'packages[0]' });
        }
        return { contentType: 'text/plain; charset=utf-8', body: `#cloud-config\nautoinstall:\n  reporting: ${ctx.eventsUrl}\n` };
      }
      if (name === 'meta-data') return { contentType: 'text/plain; charset=utf-8', body: `instance-id: ${ctx.mac}\n` };
      return null;
    },
  } satisfies OsProfile,
  nixos: {
    renderInstall: (_host, ctx) => ({
      kernel: 'nixos/24.11/bzImage',
      initrds: ['nixos/24.11/initrd'],
      cmdline: `init=/nix/store/0000000000000000000000000000000-nixos-system-nixos-24.11/init loglevel=4 pxed.installer=${ctx.nixosUrl}install.sh`,
    }),
    renderArtifact: (family, name, _host, ctx) =>
      family === 'nixos' && name === 'install.sh'
        ? { contentType: 'text/x-shellscript; charset=utf-8', body: `#!/bin/sh\ncurl ${ctx.phoneHomeUrl}\n` }
        : null,
  } satisfies OsProfile,
};

export class FakeClock {
  constructor(public t = Date.parse('2026-11-25T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advanceMinutes(m: number): void {
    this.t += m * 60_000;
  }
}

export function settings(over: Partial<BootSettings> = {}): BootSettings {
  return {
    serverAddress: SERVER,
    httpPort: PORT,
    unknownMacs: 'ignore',
    installMode: 'once',
    uefiStrategy: 'binl',
    efiBinary: 'snponly.efi',
    localBoot: { bios: 'sanboot', efi: 'exit' },
    tokenTtlMinutes: 240,
    watchdogMinutes: 30,
    ...over,
  };
}

export interface Rig {
  registry: MachineRegistry;
  policy: BootPolicy;
  admin: MachineAdmin;
  clock: FakeClock;
  hosts: HostSpec[];
  watchdog: WatchdogService;
  close(): void;
}

export function rig(over: Partial<BootSettings> = {}, hosts?: HostSpec[]): Rig {
  const clock = new FakeClock();
  const registry = openRegistry(':memory:', { now: () => clock.now() });
  const hs = hosts ?? [hostSpec('lab1', 'custom'), hostSpec('ubu1', 'ubuntu'), hostSpec('nix1', 'nixos')];
  const provisioning = provisioningOf(hs);
  const s = settings(over);
  const policy = new BootPolicy({ registry, provisioning, settings: s, osProfiles: stubProfiles, clock, logger: silentLogger });
  // Started: it follows the event stream; the tests call check() themselves (the interval never fires in a test).
  const watchdog = new WatchdogService({ registry, clock, watchdogMinutes: s.watchdogMinutes, intervalMs: 3_600_000, logger: silentLogger });
  void watchdog.start();
  const admin = new MachineAdmin({ operations: new MachineOperations({ registry, provisioning, installMode: s.installMode }), registry, provisioning, policy });
  return {
    registry,
    policy,
    admin,
    clock,
    hosts: hs,
    watchdog,
    close: () => {
      void watchdog.stop();
      registry.close();
    },
  };
}

export function client(firmware: Firmware, over: Partial<BootClient> = {}): BootClient {
  const arch: Record<Firmware, number> = {
    bios: 0,
    'efi-ia32': 6,
    'efi-x64': 7,
    'efi-arm32': 10,
    'efi-arm64': 11,
    'efi-riscv64': 27,
    'efi-ia32-http': 15,
    'efi-x64-http': 16,
    'efi-arm32-http': 18,
    'efi-arm64-http': 19,
    'efi-riscv64-http': 28,
    unsupported: 2,
  };
  const http = firmware.endsWith('-http');
  return {
    mac: MAC,
    arch: arch[firmware],
    firmware,
    isIpxe: false,
    isOurIpxe: false,
    isHttpClient: http,
    uuid: null,
    vendorClass: http ? 'HTTPClient:Arch:00016:UNDI:003000' : 'PXEClient:Arch:00007:UNDI:003016',
    userClasses: [],
    ...over,
  };
}

export function query(c: BootClient, stage: DhcpBootQuery['stage'] = 'proxy-offer'): DhcpBootQuery {
  return { client: c, stage, xid: 0x1234, serverAddress: SERVER, relayAddress: null, clientAddress: null };
}

/** Replaces the per-boot token and boot id in a rendered script so it can be compared with a golden file. */
export function normaliseScript(s: string): string {
  return s
    .replace(/\/api\/v1\/boot\/[A-Za-z0-9_-]{43}\//g, '/api/v1/boot/<TOKEN>/')
    .replace(/\/(nocloud|nixos)\/[A-Za-z0-9_-]{43}\//g, '/$1/<TOKEN>/')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<BOOT-ID>');
}

/** The token embedded in a rendered install script. */
export function tokenOf(script: string): string {
  const m = /\/(?:api\/v1\/boot|nocloud|nixos)\/([A-Za-z0-9_-]{43})\//.exec(script);
  if (!m?.[1]) throw new Error(`no token in script:\n${script}`);
  return m[1];
}
