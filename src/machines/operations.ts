// The one set of machine operations: what an operator (REST API, `pxed machines`), the config sync at start-up
// and the orchestrator may do to a machine. Every operation validates its input the same way, runs as ONE registry
// transaction (the state change, its timeline event and the token revocation it implies land together or not at
// all) and records who asked (`by`) on the state event it writes.
//
// Errors are coded (src/errors.ts decides the HTTP status):
//   MACHINE_BAD_INPUT (400; details.field names the field) — bad MAC, unknown install entry, a MAC the config gives
//     to another entry, bad install mode or override
//   MACHINE_NOT_FOUND (404) — no such machine
//   MACHINE_CONFLICT (409) — the MAC is already registered, or the lifecycle refuses (reinstalling a discovered
//     machine, which has nothing to re-arm)
//   MACHINE_MAC_MISMATCH (409) — the install entry's configuration names other MACs (its installed system matches
//     its network config to those NICs, so this machine would be unreachable after its install); `force` overrides
//   MACHINE_CONFLICT (409) also for a post-install report on a machine without an install entry (discovered)

import type { HostSpec, Provisioning } from '../config/provisioning.js';
import { PxedError, isPxedError } from '../errors.js';
import { BootEvents } from '../model/events.js';
import { EFI_BINARIES, REINSTALLABLE_STATES, UEFI_STRATEGIES, isInstallMode, isMachineState } from '../model/machine.js';
import type { InstallMode, Machine, MachineOverrides, MachinePatch } from '../model/machine.js';
import { parseMac } from '../net/mac.js';
import type { MachineRegistry } from '../registry/types.js';

/** Who asked for an operation; recorded as `by` on the state event. */
export type Actor = 'api' | 'cli' | 'config' | 'orchestrator' | 'daemon';

export interface MachineInput {
  /** Any spelling parseMac accepts. */
  mac: string;
  /** Install entry name; must exist in the provisioning config. */
  host: string;
  /** Default: the entry's install_mode, else the daemon's policy.install_mode. */
  installMode?: InstallMode;
  overrides?: MachineOverrides;
  /** Register even though the entry's configuration names other MACs (MACHINE_MAC_MISMATCH otherwise). */
  force?: boolean;
}

export interface MachineChange {
  host?: string;
  installMode?: InstallMode;
  overrides?: MachineOverrides;
  /** As MachineInput.force, for a change of install entry. */
  force?: boolean;
}

export interface MachineOperationsDeps {
  registry: MachineRegistry;
  /** Install entries by name, and which entry (if any) the config gives a MAC to. */
  provisioning: Pick<Provisioning, 'hostByName'> & Partial<Pick<Provisioning, 'hostByMac'>>;
  /** Default install mode (daemon policy.install_mode). */
  installMode: InstallMode;
}

/** What syncFromConfig did, MAC by MAC. */
export interface SyncReport {
  created: string[];
  /** Existing machines whose install entry the config changed (discovered ones are also registered). */
  renamed: string[];
  /** Machines whose entry's install_mode changed. */
  modeChanged: string[];
  /** Machines deleted: their entry left the config (or now names another MAC) and they were only `registered`. */
  removed: string[];
  /** Same, but the machine has a history beyond `registered`: kept, with a `config` event on its timeline. */
  orphaned: string[];
}

/** Ansible's per-host play recap. */
export interface PostInstallStats {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued?: number;
  ignored?: number;
}

/**
 * One report of the post stage `pxed provision` runs itself (locally, or through POST
 * /api/v1/machines/:mac/post-install with --server): the same `post-install` timeline event the daemon's own
 * post-install writes (src/orchestrator/ansible/daemon.ts).
 */
export interface PostInstallReport {
  phase: 'started' | 'ok' | 'failed';
  /** The install entry the run was for. */
  host?: string;
  /** ansible | nixos-rebuild | none. */
  method?: string;
  /** Ansible's play recap for the host; null without one (nixos-rebuild, or Ansible never reported). */
  stats?: PostInstallStats | null;
  /** The run's log on the machine that ran it (build/<host>/logs/post.log). */
  logPath?: string;
  durationMs?: number;
  exitCode?: number | null;
  /** Why it failed (phase failed). */
  error?: string;
  /** Where it ran: the machine's address, or chroot (phase started). */
  target?: string;
}

const POST_PHASES: readonly string[] = ['started', 'ok', 'failed'];
/** States a started post-install moves to post-installing from (configured: a re-run). */
const POST_FROM: readonly string[] = ['installed', 'configured'];
/** Who ran a post stage, in the state change's reason: the daemon's own service, or `pxed provision`. */
const postRunner = (by: Actor): string => (by === 'daemon' ? 'daemon' : 'pxed provision');
const REASON_ASSIGNED = 'install entry assigned';

function bad(field: string, message: string): PxedError {
  return new PxedError('MACHINE_BAD_INPUT', message, { field });
}

function notFound(mac: string): PxedError {
  return new PxedError('MACHINE_NOT_FOUND', `no machine ${mac}`, { mac });
}

export class MachineOperations {
  constructor(private readonly deps: MachineOperationsDeps) {}

  /** The canonical MAC, or MACHINE_BAD_INPUT (field mac). */
  mac(raw: string): string {
    const mac = parseMac(raw);
    if (mac === null) throw bad('mac', `"${String(raw)}" is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff)`);
    return mac;
  }

  /** MACHINE_NOT_FOUND when absent. */
  get(rawMac: string): Machine {
    const mac = this.mac(rawMac);
    const m = this.deps.registry.machineGet(mac);
    if (m === null) throw notFound(mac);
    return m;
  }

  /** Every machine, or those in `state` (MACHINE_BAD_INPUT for an unknown state). */
  list(filter: { state?: string } = {}): Machine[] {
    if (filter.state === undefined) return this.deps.registry.machineList();
    if (!isMachineState(filter.state)) throw bad('state', `unknown state "${filter.state}"`);
    return this.deps.registry.machineList({ state: filter.state });
  }

  /**
   * Registers a machine for an install entry (state registered). A MAC the daemon discovered is adopted instead
   * (see adopt); any other existing MAC is MACHINE_CONFLICT.
   */
  create(input: MachineInput, by: Actor): Machine {
    const { mac, host } = checkMachineInput(this.deps.provisioning, input);
    const installMode = input.installMode ?? host.install_mode ?? this.deps.installMode;
    const { registry } = this.deps;
    return registry.atomically(() => {
      const existing = registry.machineGet(mac);
      if (existing !== null) {
        if (existing.state !== 'discovered') throw new PxedError('MACHINE_CONFLICT', `machine ${mac} is already registered`, { mac });
        return this.assign(existing, { host: host.name, installMode, ...(input.overrides ? { overrides: input.overrides } : {}) }, by);
      }
      try {
        return registry.machineCreate({ mac, host: host.name, state: 'registered', installMode, ...(input.overrides ? { overrides: input.overrides } : {}) });
      } catch (err) {
        if (isPxedError(err, 'REGISTRY_EXISTS')) throw new PxedError('MACHINE_CONFLICT', `machine ${mac} is already registered`, { mac });
        throw err;
      }
    });
  }

  /** Gives a discovered machine its install entry (discovered → registered). MACHINE_CONFLICT for any other state. */
  adopt(rawMac: string, hostName: string, by: Actor, change: Omit<MachineChange, 'host'> = {}): Machine {
    const mac = this.mac(rawMac);
    checkEntry(this.deps.provisioning, mac, hostName, change.force === true);
    return this.deps.registry.atomically(() => {
      const m = this.get(mac);
      if (m.state !== 'discovered') throw new PxedError('MACHINE_CONFLICT', `machine ${m.mac} is ${m.state}, not discovered`, { mac: m.mac, state: m.state });
      return this.update(m.mac, { ...change, host: hostName }, by);
    });
  }

  /**
   * Changes the install entry, install mode or overrides; never the state, except that a discovered machine given
   * an install entry is adopted (→ registered). Use reinstall to re-arm.
   */
  update(rawMac: string, change: MachineChange, by: Actor): Machine {
    const mac = this.mac(rawMac);
    this.checkChange(change);
    if (change.host !== undefined) checkEntry(this.deps.provisioning, mac, change.host, change.force === true);
    const patch: MachinePatch = {};
    if (change.host !== undefined) patch.host = change.host;
    if (change.installMode !== undefined) patch.installMode = change.installMode;
    if (change.overrides !== undefined) patch.overrides = change.overrides;
    return this.deps.registry.atomically(() => this.assign(this.get(mac), patch, by));
  }

  /** Deletes the machine with its events and tokens. MACHINE_NOT_FOUND when absent. */
  remove(rawMac: string): void {
    const mac = this.mac(rawMac);
    if (!this.deps.registry.machineDelete(mac)) throw notFound(mac);
  }

  /**
   * Re-arms a machine: → registered and its live boot tokens revoked in the same transaction (the registry does
   * both in machineTransition), so its next netboot installs again.
   */
  reinstall(rawMac: string, by: Actor, reason = 'reinstall'): Machine {
    return this.deps.registry.atomically(() => {
      const m = this.get(rawMac);
      if (!REINSTALLABLE_STATES.includes(m.state)) {
        throw new PxedError('MACHINE_CONFLICT', `machine ${m.mac} is ${m.state}: give it an install entry`, { mac: m.mac, state: m.state });
      }
      return this.deps.registry.machineTransition(m.mac, 'registered', reason, { by });
    });
  }

  /**
   * Records a post stage run (`pxed provision`, or the daemon's own post-install service with `by` daemon): a
   * `post-install` event with the report and `by`, and in the same transaction the state it implies: started moves
   * installed/configured → post-installing; ok/failed moves post-installing → configured/failed. In any other state
   * (re-armed meanwhile, a post-only run on a machine that never installed) the event is recorded and the state left
   * as it is. MACHINE_BAD_INPUT for an unknown phase, MACHINE_NOT_FOUND, MACHINE_CONFLICT for a machine without an
   * install entry.
   */
  recordPostInstall(rawMac: string, report: PostInstallReport, by: Actor): Machine {
    if (!POST_PHASES.includes(report.phase)) throw bad('phase', 'must be started, ok or failed');
    const { registry } = this.deps;
    return registry.atomically(() => {
      const m = this.get(rawMac);
      if (m.host === null) throw new PxedError('MACHINE_CONFLICT', `machine ${m.mac} has no install entry: nothing was post-installed`, { mac: m.mac, state: m.state });
      registry.eventAppend(m.mac, BootEvents.postInstall({ ...report, by }));
      const extra = { stage: 'post-install', by };
      if (report.phase === 'started') {
        return POST_FROM.includes(m.state) ? registry.machineTransition(m.mac, 'post-installing', `post-install started (${postRunner(by)})`, extra) : m;
      }
      if (m.state !== 'post-installing') return m;
      const ok = report.phase === 'ok';
      return registry.machineTransition(m.mac, ok ? 'configured' : 'failed', `post-install ${report.phase} (${postRunner(by)})`, extra);
    });
  }

  /**
   * Brings the registry in line with the provisioning config (at start-up and on SIGHUP), in one transaction:
   * every configured host that netboots (boot_method pxe) and has a MAC is registered; an existing machine the config
   * gives another install entry is moved to it (a discovered one is also registered), and one whose entry sets
   * install_mode gets that mode. A machine naming an entry that left the config, or an entry the config now gives
   * to another MAC (the MAC was changed), is stale: deleted when it is only `registered` (nothing happened to it
   * yet), else kept with a `config` event saying why (its history stays; `pxed machines rm` deletes it).
   * The config wins: it is the operator's declared intent. Every change but a creation or deletion leaves a
   * `config` event on the machine's timeline (creation leaves its `state` event).
   */
  syncFromConfig(hosts: readonly HostSpec[]): SyncReport {
    const report: SyncReport = { created: [], renamed: [], modeChanged: [], removed: [], orphaned: [] };
    const { registry } = this.deps;
    const byName = new Map(hosts.map((h) => [h.name, h]));
    const wanted = new Map<string, HostSpec>();
    for (const h of hosts) if (h.mac !== null && h.boot_method === 'pxe') wanted.set(h.mac, h);
    registry.atomically(() => {
      for (const [mac, host] of wanted) {
        const m = registry.machineGet(mac);
        if (m === null) {
          registry.machineCreate({ mac, host: host.name, state: 'registered', ...(host.install_mode ? { installMode: host.install_mode } : {}) });
          report.created.push(mac);
          continue;
        }
        if (m.host !== host.name) {
          this.assign(m, { host: host.name }, 'config');
          registry.eventAppend(mac, BootEvents.config({ change: 'entry', host: host.name, reason: `install entry ${m.host ?? '(none)'} -> ${host.name}` }));
          report.renamed.push(mac);
        }
        if (host.install_mode !== null && m.installMode !== host.install_mode) {
          registry.machineUpdate(mac, { installMode: host.install_mode });
          registry.eventAppend(mac, BootEvents.config({ change: 'install-mode', host: host.name, reason: `install mode ${m.installMode} -> ${host.install_mode}` }));
          report.modeChanged.push(mac);
        }
      }
      for (const m of registry.machineList()) {
        if (m.host === null || wanted.has(m.mac)) continue;
        const entry = byName.get(m.host);
        let why: string | null = null;
        if (entry === undefined) why = `install entry ${m.host} is no longer in the config`;
        else if (entry.mac !== null && entry.mac !== m.mac) why = `install entry ${m.host} now belongs to ${entry.mac}`;
        if (why === null) continue;
        if (m.state === 'registered') {
          registry.machineDelete(m.mac);
          report.removed.push(m.mac);
          continue;
        }
        // Flag once: a later sync with the same finding adds nothing.
        const last = registry.eventList(m.mac).filter((e) => e.kind === 'config').at(-1);
        if (!(last?.kind === 'config' && last.detail.change === 'orphaned' && last.detail.reason === why)) {
          registry.eventAppend(m.mac, BootEvents.config({ change: 'orphaned', host: m.host, reason: why }));
        }
        report.orphaned.push(m.mac);
      }
    });
    return report;
  }

  /** Writes `patch`; a discovered machine that gets a host moves to registered. Call inside atomically. */
  private assign(m: Machine, patch: MachinePatch, by: Actor): Machine {
    const { registry } = this.deps;
    const updated = registry.machineUpdate(m.mac, patch);
    if (m.state === 'discovered' && patch.host != null) {
      return registry.machineTransition(m.mac, 'registered', REASON_ASSIGNED, { host: patch.host, by });
    }
    return updated;
  }

  private checkChange(c: MachineChange): void {
    checkChange(c);
  }
}

/**
 * The checks `create` makes before it touches the registry, for callers that want them first (the CLI checks
 * before it creates a database file). Returns the canonical MAC and the install entry; MACHINE_BAD_INPUT otherwise.
 */
export function checkMachineInput(provisioning: MachineOperationsDeps['provisioning'], input: MachineInput): { mac: string; host: HostSpec } {
  const mac = parseMac(input.mac);
  if (mac === null) throw bad('mac', `"${String(input.mac)}" is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff)`);
  // Bad input (400) before conflicts with the config (409).
  checkChange(input);
  const host = checkEntry(provisioning, mac, input.host, input.force === true);
  return { mac, host };
}

/**
 * The MACs an install entry's installed system configures by MAC: its NICs with a MAC (else its PXE MAC). Empty when
 * the entry names its interfaces by kernel name (install.network.interfaces) or names no MAC: any machine fits then.
 * The same rule as the network renderers (src/boot/os/network.ts).
 */
export function entryMacs(host: Pick<HostSpec, 'mac' | 'netifs' | 'install'>): string[] {
  if (host.install.network.interfaces.length > 0) return [];
  const nics = host.netifs.flatMap((n) => (n.mac === null ? [] : [n.mac]));
  if (nics.length > 0) return [...new Set(nics)];
  return host.mac === null ? [] : [host.mac];
}

/**
 * The install entry `name`, checked against the entry the config gives the MAC to (if any, never overridable: the
 * config sync would move the machine back), then against the MACs the entry's own configuration names (overridable
 * with `force`).
 */
function checkEntry(provisioning: MachineOperationsDeps['provisioning'], mac: string, name: string, force: boolean): HostSpec {
  const host = provisioning.hostByName(name);
  if (host === null) throw bad('host', `unknown install entry "${name}"`);
  const owner = provisioning.hostByMac?.(mac) ?? null;
  if (owner !== null && owner.name !== host.name) {
    throw bad('host', `MAC ${mac} belongs to "${owner.name}" in the provisioning config, not to "${host.name}"`);
  }
  const named = entryMacs(host);
  if (!force && named.length > 0 && !named.includes(mac)) {
    throw new PxedError(
      'MACHINE_MAC_MISMATCH',
      `install entry "${host.name}" configures the NIC ${named.join(', ')}, not ${mac}: the installed system matches its ` +
        `network config to that NIC, so this machine would be unreachable after its install (force to register it anyway)`,
      { field: 'mac', mac, host: host.name, entryMacs: named },
    );
  }
  return host;
}

function checkChange(c: MachineChange): void {
  const mode: string | undefined = c.installMode;
  if (mode !== undefined && !isInstallMode(mode)) throw bad('installMode', 'must be once or always');
  const o = c.overrides;
  if (o === undefined) return;
  if (o.efiBinary !== undefined && !(EFI_BINARIES as readonly string[]).includes(o.efiBinary)) {
    throw bad('overrides.efiBinary', 'must be snponly.efi or ipxe.efi');
  }
  if (o.uefiStrategy !== undefined && !(UEFI_STRATEGIES as readonly string[]).includes(o.uefiStrategy)) {
    throw bad('overrides.uefiStrategy', 'must be binl or direct');
  }
  if (o.bootChain !== undefined && o.bootChain !== 'ipxe' && o.bootChain !== 'signed') {
    throw bad('overrides.bootChain', 'must be ipxe or signed');
  }
}
