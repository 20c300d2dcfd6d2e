// The TFTP side of the signed Secure Boot chain: the files shim and GRUB ask for, by the names they ask for.
//   shimx64.efi / shimaa64.efi  → the signed shim from the signed roots (Debian: /usr/lib/shim/shimx64.efi.signed)
//   grubx64.efi / grubaa64.efi  → the signed network GRUB (Debian: grubnetx64.efi.signed, grubnetaa64.efi.signed)
//   grub/grub.cfg               → the stub that chains to the per-MAC config (grub.ts renderGrubChain)
//   grub/grub.cfg-01-<mac>      → the machine's config, rendered by the policy (install / local boot / refusal)
//   pxed/assets/<path>          → a kernel or initrd from the asset roots (the same files HTTP serves at /assets/)
// Everything else (GRUB's x86_64-efi/*.lst probes, shim's revocations*.efi, ...) is not ours: null, and the TFTP
// server answers from its static roots or "file not found", which both loaders treat as optional.
// Paths go through the TFTP server's one confinement function (src/tftp/confine.ts) before reaching the disk.

import fs from 'node:fs';
import { Readable } from 'node:stream';
import { isPxedError } from '../errors.js';
import type { HostSpec } from '../config/provisioning.js';
import type { Machine, MachineRegistry } from '../registry/types.js';
import { confine } from '../tftp/confine.js';
import { GRUB_CFG, SIGNED_SOURCES, buildArchOf, grubCfgMac } from './chain.js';
import { GRUB_ASSET_PREFIX, renderGrubChain, renderGrubInstall, renderGrubLocalBoot, renderGrubRefusal } from './grub.js';
import type { InstallBoot } from './os-profile.js';
import type { TftpOpenResult } from './types.js';

export interface SignedFilesOptions {
  /** Where the signed shim and GRUB are (first root holding one of the SIGNED_SOURCES names wins). */
  signedRoots: readonly string[];
  /** The HTTP asset roots; kernels and initrds for GRUB come from here over TFTP. */
  assetRoots: readonly string[];
}

/** The per-MAC config for `mac`, or null when pxed has nothing for that machine (→ not found). */
export type GrubConfigRenderer = (mac: string, clientAddress: string) => string | null;

function fromText(text: string): TftpOpenResult {
  const buf = Buffer.from(text, 'utf8');
  return { stream: Readable.from([buf]), size: buf.length };
}

async function fromFile(file: string): Promise<TftpOpenResult | null> {
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile()) return null;
    return { stream: fs.createReadStream(file), size: st.size };
  } catch {
    return null;
  }
}

export class SignedFiles {
  private readonly chainCfg = renderGrubChain();

  constructor(private readonly opts: SignedFilesOptions) {}

  /** Whether `name` is a signed-chain file this class answers (a cheap check before any I/O). */
  static handles(name: string): boolean {
    return name in SIGNED_SOURCES || name === GRUB_CFG || grubCfgMac(name) !== null || name.startsWith(`${GRUB_ASSET_PREFIX}/`);
  }

  /** The file for a normalised TFTP name (no leading `/`), or null. Throws TFTP_ACCESS_DENIED for hostile names. */
  async open(name: string, clientAddress: string, render: GrubConfigRenderer): Promise<TftpOpenResult | null> {
    const sources = SIGNED_SOURCES[name];
    if (sources !== undefined) {
      for (const candidate of sources) {
        const found = await confine(candidate, this.opts.signedRoots);
        if (found.file !== null) return fromFile(found.file);
      }
      return null;
    }
    if (name === GRUB_CFG) return fromText(this.chainCfg);
    const mac = grubCfgMac(name);
    if (mac !== null) {
      const text = render(mac, clientAddress);
      return text === null ? null : fromText(text);
    }
    if (name.startsWith(`${GRUB_ASSET_PREFIX}/`)) {
      const found = await confine(name.slice(GRUB_ASSET_PREFIX.length + 1), this.opts.assetRoots);
      return found.file === null ? null : fromFile(found.file);
    }
    return null;
  }
}

/** What renderGrubConfig needs from the boot policy (its iPXE decisions, reused). */
export interface GrubPolicyView {
  readonly ipMap: { set(ip: string, mac: string): void };
  renderScript(
    machine: Machine,
    query: Record<string, string | undefined>,
    preview: boolean,
  ): { variant: string; bootId: string | null; token: string | null; detail: Readonly<Record<string, unknown>> };
  installBoot(host: HostSpec, mac: string, token: string, query: Record<string, string | undefined>): InstallBoot;
  armBoot(machine: Machine, bootId: string, token: string): void;
}

/**
 * The signed chain's per-MAC grub.cfg: the decision the policy makes for /ipxe/<mac>, in GRUB's language.
 * null (→ TFTP not found) for unknown machines. Recorded as a 'grub-cfg' event; an install arms the boot (new
 * token, state booting) exactly as the iPXE install script does.
 */
export function renderGrubConfig(
  policy: GrubPolicyView,
  deps: { registry: MachineRegistry; provisioning: { hostByName(name: string): HostSpec | null } },
  mac: string,
  clientAddress: string,
): string | null {
  const { registry } = deps;
  const machine = registry.machineGet(mac);
  if (machine === null) return null;
  policy.ipMap.set(clientAddress, mac);
  const script = policy.renderScript(machine, { platform: 'efi' }, false);
  const host = machine.host === null ? null : deps.provisioning.hostByName(machine.host);
  const { bootId, token } = script;
  if (script.variant === 'install' && host !== null && bootId !== null && token !== null) {
    let body: string;
    try {
      const boot = policy.installBoot(host, mac, token, { arch: buildArchOf(machine.firmware) });
      body = renderGrubInstall({
        mac,
        hostname: host.install.network.hostname,
        os: host.install.os,
        bootId,
        kernel: boot.kernel,
        initrds: boot.initrds,
        args: boot.cmdline.split(/\s+/).filter((a) => a.length > 0),
      });
    } catch (err) {
      if (!isPxedError(err)) throw err;
      registry.eventAppend(mac, 'grub-cfg', { variant: 'error', client: clientAddress, code: err.code, error: err.message });
      return renderGrubRefusal(mac, `cannot render the install config: ${err.message}`);
    }
    registry.atomically(() => {
      policy.armBoot(machine, bootId, token);
      registry.eventAppend(mac, 'grub-cfg', { variant: 'install', client: clientAddress, bootId, os: host.install.os });
    });
    return body;
  }
  registry.eventAppend(mac, 'grub-cfg', { variant: script.variant, client: clientAddress, ...script.detail });
  if (script.variant === 'local-boot') return renderGrubLocalBoot(mac, host?.install.network.hostname ?? mac);
  return renderGrubRefusal(mac, script.variant === 'discovered' ? 'not registered with pxed' : `no install (${script.variant})`);
}
