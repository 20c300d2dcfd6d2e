// NixOS network install: the iPXE install boot (kernel + initrd of a stock NixOS netboot image, `init=` taken from
// that image's own netboot.ipxe, systemd.run= arguments that fetch and run install.sh) and the documents under
// /nixos/<token>/: install.sh, configuration.nix, host.json.
// Facts: docs/os-install.md §4 and docs/nixos-netboot.md. Per-host values travel as JSON (host.json) read by a static
// configuration.nix with builtins.fromJSON; install.sh is a static body (templates/nixos/install.sh) after a header
// of variables quoted by shQuote. No user string is spliced into Nix source or unquoted into shell.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PxedError } from '../../errors.js';
import { shippedDir } from '../../shipped.js';
import { assetPathOf } from '../../assets/catalog.js';
import type { HostSpec, ImageCatalog } from '../../config/provisioning.js';
import type { InstallBoot, InstallContext } from '../os-profile.js';
import type { HttpDocument } from '../types.js';
import { ipxeQuotedArg } from '../ipxe.js';
import { checkContext, checkHost, imageFor, invalid } from './context.js';
import { planNetwork } from './network.js';
import { shAssign } from './shell.js';

// ---------------------------------------------------------------------------------------------------------------
// netboot.ipxe

/** What pxed needs from a NixOS image's netboot.ipxe (system.build.netbootIpxeScript). */
export interface NetbootIpxe {
  /** The kernel image named on the `kernel` line (bzImage, Image, or a URL). */
  kernel: string;
  /** `/nix/store/<hash>-nixos-system-.../init`: must match the initrd of the same build. */
  init: string;
  /** Other kernel parameters of the build (boot.kernelParams: loglevel=4, ...), in order. */
  params: string[];
  /** Images named on `initrd` lines. */
  initrds: string[];
}

const STORE_INIT = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+\/init$/;

/**
 * Parses netboot.ipxe as nixpkgs writes it:
 *   kernel bzImage init=/nix/store/<hash>-nixos-system-<name>-<ver>/init initrd=initrd <kernelParams> ${cmdline}
 *   initrd initrd
 * Dropped: `initrd=` (the policy names initrds itself), iPXE settings like `${cmdline}`, `--name`/`-n` options.
 * Throws ARTIFACT_INVALID (field `netboot.ipxe`) when there is no kernel line or no well-formed init= store path.
 */
export function parseNetbootIpxe(text: string): NetbootIpxe {
  let kernel: string | null = null;
  let init: string | null = null;
  const params: string[] = [];
  const initrds: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const tokens = raw.trim().split(/\s+/).filter((t) => t.length > 0);
    const [cmd, ...rest] = tokens;
    if (cmd === undefined || cmd.startsWith('#')) continue;
    const args: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      const t = rest[i]!;
      if (t === '--name' || t === '-n') i++;
      else if (!t.startsWith('-')) args.push(t);
    }
    if ((cmd === 'kernel' || cmd === 'chain' || cmd === 'imgexec') && kernel === null) {
      const [image, ...kargs] = args;
      if (image === undefined) continue;
      kernel = image;
      for (const a of kargs) {
        if (a.startsWith('init=')) init = a.slice('init='.length);
        else if (a.startsWith('initrd=') || a.includes('${')) continue;
        else params.push(a);
      }
    } else if (cmd === 'initrd' || cmd === 'imgfetch' || cmd === 'module') {
      if (args[0] !== undefined) initrds.push(args[0]);
    }
  }
  if (kernel === null) throw invalid('netboot.ipxe', 'no kernel line found');
  if (init === null || !STORE_INIT.test(init)) {
    throw invalid('netboot.ipxe', `expected init=/nix/store/<hash>-nixos-system-.../init on the kernel line, got ${JSON.stringify(init)}`);
  }
  for (const p of params) {
    if (!/^[\x21-\x7e]+$/.test(p) || /["'#\\]/.test(p)) throw invalid('netboot.ipxe', `unexpected kernel parameter ${JSON.stringify(p)}`);
  }
  return { kernel, init, params, initrds };
}

/**
 * Where a pre-fetched copy of a catalog image's netboot.ipxe lives under an asset root: the entry itself when it is
 * asset-relative, else nixos/<version>/netboot.ipxe (src/assets/catalog.ts, where `pxed assets fetch` writes it).
 */
export function netbootIpxeAssetPath(version: string, entry?: string): string {
  return entry !== undefined ? assetPathOf('nixos', version, 'netboot.ipxe', entry) : `nixos/${version}/netboot.ipxe`;
}

/**
 * Reads `<asset root>/nixos/<version>/netboot.ipxe` for every NixOS image in the catalog (first root that has it
 * wins) and parses it. Startup I/O, kept out of the pure profile. Missing copies are reported in `missing` (installs
 * of that version then fail with ARTIFACT_INVALID); a copy that does not parse throws.
 * Obtain the copy with `pxed assets fetch nixos/<version>/netboot.ipxe`, or copy `result/netboot.ipxe` of your own
 * build next to its bzImage and initrd (README "NixOS").
 */
export async function loadNetbootIpxe(
  images: ImageCatalog,
  assetRoots: readonly string[],
): Promise<{ byVersion: Map<string, NetbootIpxe>; missing: string[] }> {
  const byVersion = new Map<string, NetbootIpxe>();
  const missing: string[] = [];
  for (const [version, image] of Object.entries(images.nixos ?? {})) {
    let found = false;
    for (const root of assetRoots) {
      const file = path.join(root, netbootIpxeAssetPath(version, image.netboot_ipxe_url));
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        continue;
      }
      try {
        byVersion.set(version, parseNetbootIpxe(text));
      } catch (err) {
        throw new PxedError('ARTIFACT_INVALID', `${file}: ${(err as Error).message}`, { field: 'netboot.ipxe', file }, { cause: err });
      }
      found = true;
      break;
    }
    if (!found) missing.push(version);
  }
  return { byVersion, missing };
}

// ---------------------------------------------------------------------------------------------------------------
// Templates

export interface NixosTemplates {
  /** templates/nixos/configuration.nix (static Nix). */
  configurationNix: string;
  /** templates/nixos/install.sh (static sh body, after pxed's variable header). */
  installBody: string;
}

/** The repository's templates/ folder (src/shipped.ts). */
export function defaultTemplatesDir(): string {
  return shippedDir('templates', path.join('nixos', 'configuration.nix'));
}

export function loadNixosTemplates(dir = defaultTemplatesDir()): NixosTemplates {
  return {
    configurationNix: readFileSync(path.join(dir, 'nixos', 'configuration.nix'), 'utf8'),
    installBody: readFileSync(path.join(dir, 'nixos', 'install.sh'), 'utf8'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

export interface NixosOptions {
  /** Parsed netboot.ipxe per catalog version (loadNetbootIpxe). */
  netboot: ReadonlyMap<string, NetbootIpxe>;
  templates: NixosTemplates;
  /** Extra kernel arguments for every NixOS install (console=ttyS0,115200n8, ...). */
  extraArgs?: readonly string[];
}

export function nixosInstall(host: HostSpec, ctx: InstallContext, opts: NixosOptions): InstallBoot {
  checkContext(ctx);
  const image = imageFor(host, 'nixos');
  const netboot = opts.netboot.get(image.version);
  if (netboot === undefined) {
    throw invalid(
      'netboot.ipxe',
      `no netboot.ipxe for NixOS ${image.version} at <asset root>/${netbootIpxeAssetPath(image.version, image.netboot_ipxe_url)}: run \`pxed assets fetch nixos/${image.version}/netboot.ipxe\``,
    );
  }
  const extra = opts.extraArgs ?? [];
  extra.forEach((a, i) => {
    if (!/^[\x21-\x7e]+$/.test(a)) throw invalid(`extraArgs[${i}]`, `expected one printable kernel argument, got ${JSON.stringify(a)}`);
  });
  const args = [`init=${netboot.init}`, ...netboot.params, ...nixosInstallerArgs(`${ctx.nixosUrl}install.sh`), ...extra];
  return { kernel: image.kernel_url, initrds: [image.initrd_url], cmdline: args.join(' ') };
}

/** Every NixOS system has these in its system path (nixpkgs nixos/modules/config/system-path.nix: curl is core). */
const SW = '/run/current-system/sw/bin';
/** Where the fetched install.sh goes (/run is a tmpfs). */
const INSTALL_SH = '/run/pxed-install.sh';

/**
 * What makes a stock NixOS netboot image (no pxed module in it) install unattended: systemd-run-generator(8) turns
 * each `systemd.run=` into an ExecStart= of kernel-command-line.service, run in order, and boots into it instead
 * of the default target. So the first command starts the normal system (network included), the second fetches
 * this boot's install.sh with retries (the lease may come after network-online), the third runs it with the
 * system's PATH (a generated unit gets systemd's default PATH, which NixOS does not populate). `none` keeps the
 * system up when a command ends: install.sh reboots by itself, and a failure stays on the console.
 * docs/nixos-netboot.md has the evidence; the unit test runs Debian's systemd-run-generator on the result.
 */
export function nixosInstallerArgs(installUrl: string): string[] {
  const run = (words: string[]): string => ipxeQuotedArg('systemd.run', words, 'systemd.run');
  return [
    run([`${SW}/systemctl`, 'start', 'network-online.target', 'multi-user.target']),
    run([`${SW}/curl`, '-fsSL', '--retry', '24', '--retry-delay', '5', '--retry-connrefused', '--max-time', '60', '-o', INSTALL_SH, installUrl]),
    run([`${SW}/env`, `PATH=/run/wrappers/bin:${SW}`, `${SW}/sh`, INSTALL_SH]),
    'systemd.run_success_action=none',
    'systemd.run_failure_action=none',
  ];
}


/** system.stateVersion: the install entry's release ("24.11"); null (= the installer's release) otherwise. */
export function stateVersion(version: string | null): string | null {
  return version !== null && /^\d{2}\.\d{2}$/.test(version) ? version : null;
}

/** host.json: everything configuration.nix needs, as plain JSON data. */
export function hostJsonObject(host: HostSpec, ctx: InstallContext): Record<string, unknown> {
  checkContext(ctx);
  imageFor(host, 'nixos');
  checkHost(host);
  const inst = host.install;
  const plan = planNetwork(host, ctx.mac);
  return {
    hostname: inst.network.hostname,
    domain: inst.network.domain,
    stateVersion: stateVersion(inst.version),
    users: inst.users.map((u) => ({
      name: u.username,
      sudo: u.sudo,
      shell: u.shell,
      hashedPassword: u.password_hash,
      keys: [...u.ssh_authorized_keys],
    })),
    network: {
      dhcp: plan.dhcp,
      addressCidr: plan.addressCidr,
      gateway: plan.gateway,
      nameservers: plan.nameservers,
      search: plan.search,
      links: plan.links,
    },
    packages: [...inst.packages],
    services: [...inst.nix_services],
    docker: inst.docker,
  };
}

export function renderHostJson(host: HostSpec, ctx: InstallContext): string {
  return `${JSON.stringify(hostJsonObject(host, ctx), null, 2)}\n`;
}

/** install.sh = shebang + `set -eu` + quoted per-host variables + the static body. */
export function renderInstallScript(host: HostSpec, ctx: InstallContext, templates: NixosTemplates): string {
  checkContext(ctx);
  imageFor(host, 'nixos');
  checkHost(host);
  const part = host.install.partitioning;
  const header = [
    '#!/bin/sh',
    `# pxed NixOS installer for ${host.name} (generated per boot; values below are quoted by pxed)`,
    'set -eu',
    shAssign('PXED_HOST', host.install.network.hostname, 'install.network.hostname'),
    shAssign('PXED_BASE_URL', ctx.nixosUrl, 'nixosUrl'),
    shAssign('PXED_EVENTS_URL', ctx.phoneHomeUrl, 'phoneHomeUrl'),
    shAssign('PXED_DISK', part.disk ?? '', 'install.partitioning.disk'),
    shAssign('PXED_LAYOUT', part.layout, 'install.partitioning.layout'),
    shAssign('PXED_SWAP_MB', String(part.swap_mb ?? 0), 'install.partitioning.swap_mb'),
  ];
  return `${header.join('\n')}\n${templates.installBody}`;
}

export const NIXOS_CONTENT_TYPES = {
  'install.sh': 'text/x-shellscript; charset=utf-8',
  'configuration.nix': 'text/plain; charset=utf-8',
  'host.json': 'application/json; charset=utf-8',
} as const;

export function nixosArtifact(family: string, name: string, host: HostSpec, ctx: InstallContext, templates: NixosTemplates): HttpDocument | null {
  if (family !== 'nixos') return null;
  switch (name) {
    case 'install.sh':
      return { contentType: NIXOS_CONTENT_TYPES[name], body: renderInstallScript(host, ctx, templates) };
    case 'configuration.nix':
      checkContext(ctx);
      imageFor(host, 'nixos');
      return { contentType: NIXOS_CONTENT_TYPES[name], body: templates.configurationNix };
    case 'host.json':
      return { contentType: NIXOS_CONTENT_TYPES[name], body: renderHostJson(host, ctx) };
    default:
      return null;
  }
}
