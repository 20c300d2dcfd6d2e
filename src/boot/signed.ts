// The TFTP side of the signed Secure Boot chain: the files shim and GRUB ask for, by the names they ask for.
//   shimx64.efi / shimaa64.efi  → the signed shim from the signed roots (Debian: /usr/lib/shim/shimx64.efi.signed),
//                                 or from the host's pxe.signed_loaders directory under the asset roots (Ubuntu's)
//   grubx64.efi / grubaa64.efi  → the signed network GRUB (Debian: grubnetx64.efi.signed, grubnetaa64.efi.signed)
//   grub/grub.cfg               → the stub that chains to the per-MAC config (grub.ts renderGrubChain)
//   grub/grub.cfg-01-<mac>      → the machine's config, rendered by the policy (install / local boot / refusal)
//   pxed/assets/<path>          → a kernel or initrd from the asset roots (the same files HTTP serves at /assets/)
// Everything else (GRUB's x86_64-efi/*.lst probes, shim's revocations*.efi, ...) is not ours: null, and the TFTP
// server answers from its static roots or "file not found", which both loaders treat as optional.
// Paths go through the TFTP server's one confinement function (src/tftp/confine.ts) before reaching the disk.

import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isPxedError } from '../errors.js';
import { BootEvents } from '../model/events.js';
import { confine } from '../tftp/confine.js';
import type { Attribution } from './attribution.js';
import { GRUB_CFG, SIGNED_SOURCES, buildArchOf, grubCfgMac } from './chain.js';
import { GRUB_ASSET_PREFIX, renderGrubChain, renderGrubInstall, renderGrubLocalBoot, renderGrubRefusal } from './grub.js';
import { splitKernelArgs } from './ipxe.js';
import type { ScriptRenderer } from './render.js';
import { hostOf, type PolicyContext } from './settings.js';
import type { BootGuard } from './guard.js';
import { hashToken, type BootTokens } from './tokens.js';
import type { TftpOpenResult } from './types.js';

export interface SignedFilesOptions {
  /** Where the signed shim and GRUB are (first root holding one of the SIGNED_SOURCES names wins). */
  signedRoots: readonly string[];
  /** The HTTP asset roots; kernels and initrds for GRUB come from here over TFTP. */
  assetRoots: readonly string[];
  /**
   * The directory under the asset roots holding the OS's own shim and GRUB for the machine at this address (host
   * `pxe.signed_loaders`, e.g. Ubuntu's netboot files), or null for signedRoots. Only that directory is searched
   * then: another vendor's shim would refuse the OS's kernel.
   */
  loaderDir?: (clientAddress: string) => string | null;
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
    return Object.hasOwn(SIGNED_SOURCES, name) || name === GRUB_CFG || grubCfgMac(name) !== null || name.startsWith(`${GRUB_ASSET_PREFIX}/`);
  }

  /** The file for a normalised TFTP name (no leading `/`), or null. Throws TFTP_ACCESS_DENIED for hostile names. */
  async open(name: string, clientAddress: string, render: GrubConfigRenderer): Promise<TftpOpenResult | null> {
    // Own keys only: a TFTP name like "constructor" must not find Object's prototype.
    const sources = Object.hasOwn(SIGNED_SOURCES, name) ? SIGNED_SOURCES[name] : undefined;
    if (sources !== undefined) {
      const dir = this.opts.loaderDir?.(clientAddress) ?? null;
      const roots = dir === null ? this.opts.signedRoots : this.opts.assetRoots.map((r) => path.join(r, dir));
      for (const candidate of sources) {
        const found = await confine(candidate, roots);
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

/** What renderGrubConfig uses of the policy's parts: the same decision, token and arming as the iPXE script. */
export interface GrubConfigDeps {
  readonly ctx: Pick<PolicyContext, 'registry' | 'provisioning' | 'serverUrl' | 'clock'>;
  readonly renderer: Pick<ScriptRenderer, 'renderScript' | 'installBoot'>;
  readonly tokens: Pick<BootTokens, 'arm' | 'liveness'>;
  readonly attribution: Pick<Attribution, 'note'>;
  /** The install-hijack guard and mint rate limit of /ipxe/<mac> (guard.ts), applied to the config fetch too. */
  readonly guard?: Pick<BootGuard, 'hold' | 'mintAllowed' | 'minted' | 'refusalAdmitted'>;
}

const GRUB_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** A guard refusal: recorded at most once per window per machine and reason (guard.ts), then the console message. */
function grubRefusal(deps: GrubConfigDeps, mac: string, client: string, reason: string, message: string, now: number): string {
  const admitted = deps.guard === undefined ? { repeats: 0 } : deps.guard.refusalAdmitted(mac, `grub-${reason}`, now);
  if (admitted !== null) {
    deps.ctx.registry.eventAppend(mac, BootEvents.grubConfig({ variant: 'refused', client, reason, ...(admitted.repeats > 0 ? { repeats: admitted.repeats } : {}) }));
  }
  return renderGrubRefusal(mac, message);
}

/**
 * The signed chain's per-MAC grub.cfg: the decision the policy makes for /ipxe/<mac>, in GRUB's language.
 * null (→ TFTP not found) for unknown machines. Recorded as a 'grub-cfg' event; an install arms the boot (new
 * token, state booting) in one transaction with its event, exactly as the iPXE install script does.
 */
export function renderGrubConfig(deps: GrubConfigDeps, mac: string, clientAddress: string): string | null {
  const { registry } = deps.ctx;
  const machine = registry.machineGet(mac);
  if (machine === null) return null;
  deps.attribution.note(clientAddress, mac);
  const now = deps.ctx.clock.now().getTime();
  // While an install is armed, only a new DHCP exchange lets a fetch re-arm it: the address that got the live token
  // gets the same config again (a retransmitted RRQ too), any other address a refusal.
  const hold = deps.guard?.hold(mac, machine.state, clientAddress, deps.tokens.liveness) ?? null;
  if (hold !== null) return hold.kind === 'refuse' ? grubRefusal(deps, mac, clientAddress, hold.reason, hold.message, now) : String(hold.document.body);
  const query = { platform: 'efi', arch: buildArchOf(machine.firmware) };
  const script = deps.renderer.renderScript(machine, query, false);
  const host = hostOf(deps.ctx, machine);
  const { bootId, token } = script;
  if (script.variant === 'install' && host !== null && bootId !== null && token !== null) {
    let body: string;
    try {
      const boot = deps.renderer.installBoot(host, mac, token, query);
      body = renderGrubInstall({
        mac,
        hostname: host.install.network.hostname,
        os: host.install.os,
        bootId,
        kernel: boot.kernel,
        initrds: boot.initrds,
        args: splitKernelArgs(boot.cmdline),
        serverUrl: deps.ctx.serverUrl,
      });
    } catch (err) {
      if (!isPxedError(err)) throw err;
      registry.eventAppend(mac, BootEvents.grubConfig({ variant: 'error', client: clientAddress, code: err.code, error: err.message }));
      return renderGrubRefusal(mac, `cannot render the install config: ${err.message}`);
    }
    if (deps.guard !== undefined && !deps.guard.mintAllowed(mac, now)) {
      return grubRefusal(deps, mac, clientAddress, 'rate-limited', 'too many install configs for this machine; retry in a minute', now);
    }
    deps.tokens.arm(machine, bootId, token, BootEvents.grubConfig({ variant: 'install', client: clientAddress, bootId, os: host.install.os }));
    deps.guard?.minted(mac, { hash: hashToken(token), bootId, address: clientAddress, document: { contentType: GRUB_CONTENT_TYPE, body } }, now);
    return body;
  }
  registry.eventAppend(mac, BootEvents.grubConfig({ ...script.detail, variant: script.variant, client: clientAddress }));
  if (script.variant === 'local-boot') return renderGrubLocalBoot(mac, host?.install.network.hostname ?? mac);
  return renderGrubRefusal(mac, script.variant === 'discovered' ? 'not registered with pxed' : `no install (${script.variant})`);
}
