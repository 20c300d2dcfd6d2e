// The daemon config (configs/pxed.yaml) as a zod strict schema. Keys stay snake_case as in YAML (also in the
// exported `DaemonConfig` type), like the provisioning model. Defaults live here (zod `prefault` so nested defaults
// apply to absent sections); relative paths are resolved against the config file's directory by
// resolveDaemonPaths(); the loader (load.ts) deep-freezes the result.

import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PxedError } from '../errors.js';
import { INSTALL_MODES, UEFI_STRATEGIES } from '../model/machine.js';
import { ipInCidr, isIpv4, parseCidr, parseIpv4 } from './net.js';

const ipv4 = z.string().refine(isIpv4, { message: 'expected an IPv4 address like 192.0.2.1' });
/** 0 = let the OS pick (tests). */
const port = (def: number) => z.number().int().min(0).max(65535).default(def);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected an environment variable name' });
const nonEmptyPath = z.string().min(1, { message: 'expected a path' });

export const serverSchema = z.strictObject({
  /** Provisioning interface (e.g. enp1s0); its first IPv4 is the server address unless `address` is set. */
  interface: z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, { message: 'expected a network interface name' }).optional(),
  /** Our address on the provisioning network (DHCP option 54 / siaddr, URLs in iPXE scripts). */
  address: ipv4.optional(),
  /** On SIGTERM, running TFTP transfers and HTTP downloads get this long to finish (the unit's TimeoutStopSec= is 75 s). */
  drain_seconds: z.number().int().min(0).max(60).default(10),
});

export const dhcpFullSchema = z
  .strictObject({
    range_start: ipv4,
    range_end: ipv4,
    subnet: z.string().refine((s) => parseCidr(s) !== null, { message: 'expected a subnet like 192.0.2.0/24' }),
    router: ipv4.optional(),
    dns: z.array(ipv4).default([]),
    domain: z.string().optional(),
    lease_seconds: z.number().int().min(60).default(3600),
  })
  .superRefine((v, ctx) => {
    for (const key of ['range_start', 'range_end', 'router'] as const) {
      const ip = v[key];
      if (ip !== undefined && isIpv4(ip) && parseCidr(v.subnet) && !ipInCidr(ip, v.subnet)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `expected an address inside subnet ${v.subnet}` });
      }
    }
    const a = parseIpv4(v.range_start);
    const b = parseIpv4(v.range_end);
    if (a !== null && b !== null && a > b) {
      ctx.addIssue({ code: 'custom', path: ['range_end'], message: 'expected range_end >= range_start' });
    }
  });

export const dhcpSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** proxy: answer PXE clients only, next to the site's DHCP server (dnsmasq --dhcp-range=...,proxy); full: lease addresses too. */
  mode: z.enum(['proxy', 'full']).default('proxy'),
  port: port(67),
  /** PXE boot server (BINL) port for UEFI REQUESTs after a proxy OFFER. */
  boot_server_port: port(4011),
  /** Option 60 prefixes we answer; anything else is ignored silently. */
  vendor_prefixes: z.array(z.string().min(1)).default(['PXEClient', 'HTTPClient']),
  uefi_strategy: z.enum(UEFI_STRATEGIES).default('binl'),
  /** Required when mode is full. */
  full: dhcpFullSchema.optional(),
});

export const tftpSchema = z.strictObject({
  enabled: z.boolean().default(true),
  port: port(69),
  /** Searched in order; /usr/lib/ipxe is Debian's `ipxe` package (undionly.kpxe, ipxe.efi, snponly.efi). */
  roots: z.array(nonEmptyPath).min(1).default(['/usr/lib/ipxe']),
  /** RFC 2348 blksize cap; 1468 fits a 1500-byte MTU without fragmentation. */
  max_blksize: z.number().int().min(8).max(65464).default(1468),
  max_transfers: z.number().int().min(1).default(200),
  max_per_client: z.number().int().min(1).default(8),
  /** Retransmission timeout per block (RFC 2349 timeout option may override per transfer). */
  timeout_ms: z.number().int().min(100).max(255000).default(1000),
  retries: z.number().int().min(0).max(100).default(5),
  /** In-memory cache of served files up to 16 MiB (boot loaders), in MiB; 0 turns it off. */
  cache_mb: z.number().int().min(0).max(4096).default(64),
  /**
   * Signed Secure Boot chain (pxe.boot_chain: signed, docs/secure-boot.md): roots holding the signed shim and GRUB,
   * first found wins (Debian's shim-signed, grub-efi-amd64-signed; grub-efi-arm64-signed for ARM64 clients).
   */
  signed_roots: z.array(nonEmptyPath).min(1).default(['/usr/lib/shim', '/usr/lib/grub/x86_64-efi-signed', '/usr/lib/grub/arm64-efi-signed']),
});

/** HTTP resource limits (src/http/limits.ts has the defaults; docs/security.md says why each is what it is). */
export const httpLimitsSchema = z.strictObject({
  max_connections: z.number().int().min(1).optional(),
  per_client_connections: z.number().int().min(1).optional(),
  request_timeout_seconds: z.number().int().min(1).optional(),
  idle_timeout_seconds: z.number().int().min(1).optional(),
  asset_stall_seconds: z.number().int().min(1).optional(),
  phone_home_body_kib: z.number().int().min(16).max(65536).optional(),
  sse_clients: z.number().int().min(1).optional(),
});

export const httpSchema = z.strictObject({
  /** Address to bind; default the provisioning address (server.address). 0.0.0.0 answers on every interface. */
  listen: ipv4.optional(),
  port: port(8080),
  /** Static asset roots (kernels, initrds, ISOs) served under /assets/, searched in order. */
  asset_roots: z.array(nonEmptyPath).default([]),
  limits: httpLimitsSchema.prefault({}),
});

export const registrySchema = z.strictObject({
  /** SQLite database file (created on first start). */
  database: nonEmptyPath.default('./var/pxed.db'),
  /** Each machine keeps its newest this many timeline events (docs/security.md "Limits"). */
  events_per_machine: z.number().int().min(10).default(2000),
  /** Timeline events older than this are pruned. */
  event_max_age_days: z.number().int().min(1).default(90),
});

export const adminSchema = z
  .strictObject({
    /** File whose content (trimmed) is the admin API bearer token. */
    token_file: nonEmptyPath.optional(),
    /** Environment variable holding the admin API bearer token. */
    token_env: envName.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.token_file === undefined) === (v.token_env === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of token_file or token_env (the token itself never goes in this file)' });
    }
  });

export const policySchema = z.strictObject({
  /** MACs with no registry entry: ignore (stay silent) or discover (record them as `discovered`, still silent). */
  unknown_macs: z.enum(['ignore', 'discover']).default('ignore'),
  /** once: after a successful install the machine boots locally; always: reinstall on every PXE boot. */
  install_mode: z.enum(INSTALL_MODES).default('once'),
  /** A booting/installing machine with no progress event for this long is marked stalled (the install watchdog). */
  install_watchdog_minutes: z.number().int().min(1).default(60),
  /** Lifetime of per-install tokens embedded in installer URLs. */
  token_ttl_minutes: z.number().int().min(1).default(240),
  /** Install scripts (each mints a token) per MAC per minute; more get a refusal script (docs/security.md). */
  script_mints_per_minute: z.number().int().min(1).max(60).default(4),
  /**
   * Accept an install token only from the address its script went to (or the last one DHCP saw for the MAC). Turn off
   * only when the installer's own DHCP client gets another address than iPXE did (docs/security.md).
   */
  bind_tokens: z.boolean().default(true),
  /** What unauthenticated LAN traffic may cost the registry (docs/security.md "Limits"). */
  limits: z
    .strictObject({
      /** Timeline writes caused by DHCP packets, script fetches, asset/TFTP transfers, per MAC per minute. */
      writes_per_mac_per_minute: z.number().int().min(1).default(60),
      /** The same, per client address per minute. */
      writes_per_address_per_minute: z.number().int().min(1).default(120),
      /** New `discovered` machines per minute (unknown_macs: discover), all MACs together. */
      discoveries_per_minute: z.number().int().min(1).default(120),
      /** Discovered (unadopted) machines kept; beyond it the oldest are removed. */
      max_discovered: z.number().int().min(1).default(1024),
    })
    .prefault({}),
  /** How iPXE hands over to the local disk: BIOS `sanboot --no-describe --drive 0x80` or `exit`; EFI only `exit`. */
  local_boot: z
    .strictObject({
      bios: z.enum(['sanboot', 'exit']).default('sanboot'),
      efi: z.enum(['exit']).default('exit'),
    })
    .prefault({}),
});

/** Event-driven post-install (src/orchestrator/ansible/daemon.ts): off until hosts names install entries. */
export const postInstallSchema = z.strictObject({
  /** Install entries (install_config.yaml keys) configured by the daemon once installed; "*" = every entry. */
  hosts: z.array(z.string().min(1)).default([]),
  /** Post-install runs at once; the rest wait, still `installed`. */
  concurrency: z.number().int().min(1).max(32).default(2),
  /** build/<host>/{ansible,logs} live here. */
  build_dir: nonEmptyPath.default('./var/build'),
  /** HOME, ANSIBLE_HOME and ANSIBLE_LOCAL_TEMP of the children (the unit has ProtectHome=). */
  state_dir: nonEmptyPath.default('./var/ansible'),
  timezone: z.string().min(1).default('Etc/UTC'),
  ntp_servers: z.array(z.string().min(1)).default(['pool.ntp.org']),
});

export const provisioningPathsSchema = z.strictObject({
  defaults: nonEmptyPath.default('./defaults.yaml'),
  vm_specs: nonEmptyPath.default('./vm_specs.yaml'),
  install_config: nonEmptyPath.default('./install_config.yaml'),
});

export const daemonConfigSchema = z
  .strictObject({
    server: serverSchema.prefault({}),
    dhcp: dhcpSchema.prefault({}),
    tftp: tftpSchema.prefault({}),
    http: httpSchema.prefault({}),
    registry: registrySchema.prefault({}),
    admin: adminSchema,
    policy: policySchema.prefault({}),
    provisioning: provisioningPathsSchema.prefault({}),
    post_install: postInstallSchema.prefault({}),
    log: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).prefault({}),
  })
  .superRefine((v, ctx) => {
    if (v.dhcp.mode === 'full' && v.dhcp.full === undefined) {
      ctx.addIssue({ code: 'custom', path: ['dhcp', 'full'], message: 'expected a dhcp.full section when dhcp.mode is full' });
    }
  });

/** The parsed daemon config (snake_case keys as in pxed.yaml; all defaults applied; paths absolute after loading). */
export type DaemonConfig = z.output<typeof daemonConfigSchema>;
/** What pxed.yaml may contain (defaults optional). */
export type DaemonConfigInput = z.input<typeof daemonConfigSchema>;

/**
 * Resolves every path-valued field against `baseDir` (the config file's directory). Absolute paths stay. Returns a
 * new object. The provisioning paths keep "-" (stdin) as is.
 */
export function resolveDaemonPaths(cfg: DaemonConfig, baseDir: string): DaemonConfig {
  const r = (p: string) => path.resolve(baseDir, p);
  const keepDash = (p: string) => (p === '-' ? p : r(p));
  return {
    ...cfg,
    tftp: { ...cfg.tftp, roots: cfg.tftp.roots.map(r), signed_roots: cfg.tftp.signed_roots.map(r) },
    http: { ...cfg.http, asset_roots: cfg.http.asset_roots.map(r) },
    registry: { ...cfg.registry, database: r(cfg.registry.database) },
    post_install: { ...cfg.post_install, build_dir: r(cfg.post_install.build_dir), state_dir: r(cfg.post_install.state_dir) },
    admin: { ...cfg.admin, ...(cfg.admin.token_file !== undefined ? { token_file: r(cfg.admin.token_file) } : {}) },
    provisioning: {
      defaults: keepDash(cfg.provisioning.defaults),
      vm_specs: keepDash(cfg.provisioning.vm_specs),
      install_config: keepDash(cfg.provisioning.install_config),
    },
  };
}

export type NetworkInterfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

export interface ResolvedServerAddress {
  address: string;
  interface: string | null;
  /** How it was chosen, for the startup log ("server.address", "first IPv4 of enp1s0", ...). */
  reason: string;
}

/**
 * The server address: `server.address` if set; else the first IPv4 of `server.interface`; else the first
 * non-internal IPv4 interface (and `reason` says which). Throws CONFIG_INVALID when nothing fits.
 * `interfaces` defaults to os.networkInterfaces() (injectable for tests).
 */
export function resolveServerAddress(
  server: { interface?: string | undefined; address?: string | undefined },
  interfaces: NetworkInterfaces = os.networkInterfaces(),
): ResolvedServerAddress {
  if (server.address !== undefined) {
    return { address: server.address, interface: server.interface ?? null, reason: 'server.address' };
  }
  if (server.interface !== undefined) {
    const v4 = (interfaces[server.interface] ?? []).find((a) => a.family === 'IPv4');
    if (!v4) {
      throw new PxedError('CONFIG_INVALID', `server.interface ${server.interface} has no IPv4 address; set server.address`, {
        interface: server.interface,
      });
    }
    return { address: v4.address, interface: server.interface, reason: `first IPv4 address of ${server.interface}` };
  }
  for (const [name, addrs] of Object.entries(interfaces)) {
    const v4 = (addrs ?? []).find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) {
      return {
        address: v4.address,
        interface: name,
        reason: `neither server.interface nor server.address set; picked ${name}, the first non-internal IPv4 interface`,
      };
    }
  }
  throw new PxedError('CONFIG_INVALID', 'no non-internal IPv4 interface found; set server.interface or server.address');
}
