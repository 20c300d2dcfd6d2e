// Operator operations behind the REST API (/api/v1/machines...) and the CLI. Input is validated here and errors
// are coded so the HTTP layer maps them without reading messages:
//   BOOT_NOT_FOUND → 404, BOOT_BAD_INPUT → 400 (details.field names the field), BOOT_CONFLICT → 409
//   (MAC exists, or an illegal lifecycle step such as reinstalling a discovered machine).

import { PxedError, isPxedError } from '../errors.js';
import type { Provisioning } from '../config/provisioning.js';
import { normalizeMac } from '../config/net.js';
import { REINSTALLABLE_STATES, isMachineState } from '../registry/lifecycle.js';
import type {
  BootEvent,
  InstallMode,
  Machine,
  MachineOverrides,
  MachinePatch,
  MachineRegistry,
  MachineState,
} from '../registry/types.js';
import { PREVIEW_TOKEN, installContext } from './os-profile.js';
import type { BootPolicy } from './policy.js';
import type { HttpDocument } from './types.js';

/**
 * Artifacts that `GET /api/v1/machines/:mac/render/:artifact` and `pxed render` preview, and the token route each
 * stands for; null = the iPXE script.
 */
export const PREVIEW_ARTIFACTS = {
  ipxe: null,
  'user-data': { family: 'nocloud', name: 'user-data' },
  'meta-data': { family: 'nocloud', name: 'meta-data' },
  'nixos-install': { family: 'nixos', name: 'install.sh' },
  'nixos-config': { family: 'nixos', name: 'configuration.nix' },
  'nixos-host': { family: 'nixos', name: 'host.json' },
} as const;
export type PreviewArtifact = keyof typeof PREVIEW_ARTIFACTS;

export interface MachineCreateInput {
  mac: string;
  /** Install entry name; must exist in the provisioning config. */
  host: string;
  /** Default: the host's install_mode, else the daemon's policy.install_mode. */
  installMode?: InstallMode;
  overrides?: MachineOverrides;
}

export interface MachineUpdateInput {
  host?: string;
  installMode?: InstallMode;
  overrides?: MachineOverrides;
}

export interface MachineAdminDeps {
  registry: MachineRegistry;
  provisioning: Pick<Provisioning, 'hostByName'>;
  policy: BootPolicy;
  /** Default install mode (daemon policy.install_mode). */
  installMode: InstallMode;
}

function bad(field: string, message: string): PxedError {
  return new PxedError('BOOT_BAD_INPUT', message, { field });
}

export class MachineAdmin {
  constructor(private readonly deps: MachineAdminDeps) {}

  /** Normalised MAC or BOOT_BAD_INPUT. */
  mac(raw: string): string {
    const mac = normalizeMac(raw);
    if (mac === null) throw bad('mac', `"${raw}" is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff)`);
    return mac;
  }

  list(filter: { state?: string } = {}): Machine[] {
    if (filter.state === undefined) return this.deps.registry.machineList();
    if (!isMachineState(filter.state)) throw bad('state', `unknown state "${filter.state}"`);
    return this.deps.registry.machineList({ state: filter.state });
  }

  get(rawMac: string): Machine {
    const mac = this.mac(rawMac);
    const m = this.deps.registry.machineGet(mac);
    if (m === null) throw new PxedError('BOOT_NOT_FOUND', `no machine ${mac}`, { mac });
    return m;
  }

  private checkHost(name: string): void {
    if (this.deps.provisioning.hostByName(name) === null) {
      throw bad('host', `no install entry "${name}" in the provisioning config`);
    }
  }

  private checkOverrides(o: MachineOverrides | undefined): void {
    if (o === undefined) return;
    if (o.efiBinary !== undefined && o.efiBinary !== 'snponly.efi' && o.efiBinary !== 'ipxe.efi') {
      throw bad('overrides.efiBinary', 'must be snponly.efi or ipxe.efi');
    }
    if (o.uefiStrategy !== undefined && o.uefiStrategy !== 'binl' && o.uefiStrategy !== 'direct') {
      throw bad('overrides.uefiStrategy', 'must be binl or direct');
    }
    if (o.bootChain !== undefined && o.bootChain !== 'ipxe' && o.bootChain !== 'signed') {
      throw bad('overrides.bootChain', 'must be ipxe or signed');
    }
  }

  private checkMode(mode: string | undefined): void {
    if (mode !== undefined && mode !== 'once' && mode !== 'always') throw bad('installMode', 'must be once or always');
  }

  /**
   * Registers a machine (state registered). A MAC already known as `discovered` is given its install entry
   * (discovered → registered); any other existing MAC is BOOT_CONFLICT.
   */
  create(input: MachineCreateInput): Machine {
    const mac = this.mac(input.mac);
    this.checkHost(input.host);
    this.checkMode(input.installMode);
    this.checkOverrides(input.overrides);
    const host = this.deps.provisioning.hostByName(input.host);
    const installMode = input.installMode ?? host?.install_mode ?? this.deps.installMode;
    const { registry } = this.deps;
    const existing = registry.machineGet(mac);
    if (existing !== null) {
      if (existing.state !== 'discovered') throw new PxedError('BOOT_CONFLICT', `machine ${mac} already exists`, { mac });
      registry.machineUpdate(mac, { host: input.host, installMode, ...(input.overrides ? { overrides: input.overrides } : {}) });
      return registry.machineTransition(mac, 'registered', 'install entry assigned', { host: input.host });
    }
    try {
      return registry.machineCreate({
        mac,
        host: input.host,
        state: 'registered',
        installMode,
        ...(input.overrides ? { overrides: input.overrides } : {}),
      });
    } catch (err) {
      if (isPxedError(err, 'REGISTRY_EXISTS')) throw new PxedError('BOOT_CONFLICT', `machine ${mac} already exists`, { mac });
      throw err;
    }
  }

  /** Changes the install entry, install mode or overrides. Does not change state (use reinstall). */
  update(rawMac: string, input: MachineUpdateInput): Machine {
    const m = this.get(rawMac);
    if (input.host !== undefined) this.checkHost(input.host);
    this.checkMode(input.installMode);
    this.checkOverrides(input.overrides);
    const patch: MachinePatch = {};
    if (input.host !== undefined) patch.host = input.host;
    if (input.installMode !== undefined) patch.installMode = input.installMode;
    if (input.overrides !== undefined) patch.overrides = input.overrides;
    const updated = this.deps.registry.machineUpdate(m.mac, patch);
    if (m.state === 'discovered' && input.host !== undefined) {
      return this.deps.registry.machineTransition(m.mac, 'registered', 'install entry assigned', { host: input.host });
    }
    return updated;
  }

  delete(rawMac: string): void {
    const mac = this.mac(rawMac);
    if (!this.deps.registry.machineDelete(mac)) throw new PxedError('BOOT_NOT_FOUND', `no machine ${mac}`, { mac });
  }

  /** Re-arms a machine (→ registered, live tokens revoked): its next netboot installs again. */
  reinstall(rawMac: string, reason = 'reinstall requested by an operator'): Machine {
    const m = this.get(rawMac);
    if (!REINSTALLABLE_STATES.includes(m.state)) {
      throw new PxedError('BOOT_CONFLICT', `machine ${m.mac} is ${m.state}; give it an install entry first`, { mac: m.mac, state: m.state });
    }
    const out = this.deps.registry.machineTransition(m.mac, 'registered', reason);
    this.deps.registry.tokenRevokeAll(m.mac);
    return out;
  }

  events(rawMac: string, opts: { afterId?: number; limit?: number } = {}): BootEvent[] {
    const m = this.get(rawMac);
    return this.deps.registry.eventList(m.mac, opts);
  }

  allEvents(opts: { afterId?: number; limit?: number } = {}): BootEvent[] {
    return this.deps.registry.eventListAll(opts);
  }

  /** For SSE: called after each committed event; returns the unsubscribe function. */
  subscribe(listener: (event: BootEvent) => void): () => void {
    return this.deps.registry.eventSubscribe(listener);
  }

  /**
   * Renders an artifact as the machine would get it now, with the placeholder token PREVIEW_TOKEN: no token is
   * minted, no state changes, no event. `ipxe` previews the machine's current script (install, local boot, ...).
   * Throws BOOT_BAD_INPUT for an unknown artifact name, BOOT_NOT_FOUND when the profile has no such artifact, and
   * the renderer's own coded error (ARTIFACT_INVALID, BOOT_SCRIPT_INVALID) when rendering fails.
   */
  preview(rawMac: string, artifact: string, query: Record<string, string | undefined> = {}): HttpDocument {
    const m = this.get(rawMac);
    if (!Object.hasOwn(PREVIEW_ARTIFACTS, artifact)) {
      throw bad('artifact', `unknown artifact "${artifact}"; expected one of ${Object.keys(PREVIEW_ARTIFACTS).join(', ')}`);
    }
    const route = PREVIEW_ARTIFACTS[artifact as PreviewArtifact];
    const { policy } = this.deps;
    if (route === null) {
      const r = policy.renderScript(m, query, true);
      return { contentType: 'text/plain; charset=utf-8', body: r.body };
    }
    const host = m.host === null ? null : this.deps.provisioning.hostByName(m.host);
    if (host === null) throw new PxedError('BOOT_NOT_FOUND', `machine ${m.mac} has no install entry to render`, { mac: m.mac });
    const profile = policy.osProfile(host.install.os);
    const ctx = installContext(policy.serverUrl, PREVIEW_TOKEN, m.mac, host.install.network.hostname);
    const doc = profile?.renderArtifact(route.family, route.name, host, ctx) ?? null;
    if (doc === null) {
      throw new PxedError('BOOT_NOT_FOUND', `os ${host.install.os} has no ${artifact} artifact`, { mac: m.mac, artifact });
    }
    return doc;
  }
}

/** Which machines a state filter string selects; exported for the API's query parsing. */
export function parseStateFilter(s: string | undefined): MachineState | undefined {
  if (s === undefined || s === '') return undefined;
  if (!isMachineState(s)) throw bad('state', `unknown state "${s}"`);
  return s;
}
