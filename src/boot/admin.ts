// The admin side of the REST API (/api/v1/machines...): machine operations (src/machines/operations.ts), the
// timeline and previews. Errors are coded (src/errors.ts maps them to HTTP status).

import { PxedError } from '../errors.js';
import type { Provisioning } from '../config/provisioning.js';
import type { Machine } from '../model/machine.js';
import type { MachineChange, MachineInput, MachineOperations } from '../machines/operations.js';
import type { BootEvent } from '../model/events.js';
import type { MachineRegistry } from '../registry/types.js';
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

export interface MachineAdminDeps {
  operations: MachineOperations;
  registry: MachineRegistry;
  provisioning: Pick<Provisioning, 'hostByName'>;
  policy: BootPolicy;
}

function bad(field: string, message: string): PxedError {
  return new PxedError('BOOT_BAD_INPUT', message, { field });
}

/**
 * The HTTP admin port (http/types.ts AdminApi) over the one set of machine operations (src/machines), the
 * registry's timeline and the policy's preview. Writes go through MachineOperations only.
 */
export class MachineAdmin {
  private readonly ops: MachineOperations;
  constructor(private readonly deps: MachineAdminDeps) {
    this.ops = deps.operations;
  }

  list(filter: { state?: string } = {}): Machine[] {
    return this.ops.list(filter);
  }

  get(rawMac: string): Machine {
    return this.ops.get(rawMac);
  }

  create(input: MachineInput): Machine {
    return this.ops.create(input, 'api');
  }

  update(rawMac: string, change: MachineChange): Machine {
    return this.ops.update(rawMac, change, 'api');
  }

  delete(rawMac: string): void {
    this.ops.remove(rawMac);
  }

  reinstall(rawMac: string, reason?: string): Machine {
    return this.ops.reinstall(rawMac, 'api', reason);
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
