// The admin side of the REST API (/api/v1/machines...): machine operations (src/machines/operations.ts), the
// timeline and previews. Errors are coded (src/errors.ts maps them to HTTP status).

import type { HostSpec, Provisioning } from '../config/provisioning.js';
import type { Machine } from '../model/machine.js';
import { entryMacs, type MachineChange, type MachineInput, type MachineOperations, type PostInstallReport } from '../machines/operations.js';
import type { BootEvent } from '../model/events.js';
import type { MachineRegistry } from '../registry/types.js';
import type { BootPolicy } from './policy.js';
import type { HttpDocument } from './types.js';
import type { EntrySummary } from '../http/types.js';

export interface MachineAdminDeps {
  operations: MachineOperations;
  registry: MachineRegistry;
  /** `hosts` feeds the admin page's entry list (none without it). */
  provisioning: Pick<Provisioning, 'hostByName'> & { hosts?: readonly HostSpec[] };
  policy: BootPolicy;
}

/**
 * The HTTP admin port (http/types.ts AdminApi) over the one set of machine operations (src/machines), the
 * registry's timeline and the policy's preview. Writes go through MachineOperations only.
 */
export class MachineAdmin {
  private readonly ops: MachineOperations;
  /** The last entry list, with the host list it was made from. */
  private entryList: { hosts: readonly HostSpec[]; list: readonly EntrySummary[] } | undefined;
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

  postInstall(rawMac: string, report: PostInstallReport): Machine {
    return this.ops.recordPostInstall(rawMac, report, 'api');
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
    const host = m.host === null ? null : this.deps.provisioning.hostByName(m.host);
    const { contentType, body } = this.deps.policy.renderer.preview({ host, mac: m.mac, machine: m }, artifact, query);
    return { contentType, body };
  }

  /** The install entries for the admin page (of the provisioning in effect: a reload swaps it). */
  entries(): readonly EntrySummary[] {
    const hosts = this.deps.provisioning.hosts ?? [];
    if (this.entryList?.hosts !== hosts) {
      const list = hosts.map((h) => ({ name: h.name, os: h.install.os, version: h.install.version, hostname: h.install.network.hostname, macs: entryMacs(h) }));
      this.entryList = { hosts, list };
    }
    return this.entryList.list;
  }
}
