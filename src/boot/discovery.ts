// Discovery: an unknown MAC that netboots is recorded as `discovered` (policy unknown_macs: discover), and a known
// machine's firmware identity (arch, firmware, UUID, vendor class) is kept current from what native PXE shows.

import { isPxedError } from '../errors.js';
import { BootEvents } from '../model/events.js';
import type { Machine } from '../model/machine.js';
import type { PolicyContext } from './settings.js';
import type { BootClient, DhcpBootQuery } from './types.js';

/** Discovered (unadopted) machines kept at most (config policy.limits.max_discovered). */
export const DEFAULT_MAX_DISCOVERED = 1024;

/** Records the client as a discovered machine with its 'discovered' event (both or neither). */
export function discover(ctx: PolicyContext, query: DhcpBootQuery): void {
  const c = query.client;
  // Random MACs cost a row each: new discoveries are within one global budget (budget.ts).
  if (!ctx.writes.discovery(c.mac, ctx.clock.now().getTime())) return;
  // The machine and its 'discovered' event land together (a lost race with another writer adds neither).
  const created = ctx.registry.atomically(() => {
    try {
      ctx.registry.machineCreate({
        mac: c.mac,
        host: null,
        state: 'discovered',
        installMode: ctx.settings.installMode,
        arch: c.arch,
        firmware: c.firmware,
        uuid: c.uuid,
        vendorClass: c.vendorClass,
      });
    } catch (err) {
      if (isPxedError(err, 'REGISTRY_EXISTS')) return false;
      throw err;
    }
    ctx.registry.eventAppend(c.mac, BootEvents.discovered({
      stage: query.stage,
      arch: c.arch,
      firmware: c.firmware,
      ipxe: c.isIpxe,
      uuid: c.uuid,
      vendorClass: c.vendorClass,
    }));
    return true;
  });
  if (!created) return;
  ctx.log.info('discovered machine', { mac: c.mac, firmware: c.firmware, xid: query.xid });
  // The cap: beyond it the oldest unadopted machines are removed (counted, and warned about once a minute).
  const cap = ctx.settings.maxDiscovered ?? DEFAULT_MAX_DISCOVERED;
  const removed = ctx.registry.machinePruneDiscovered(cap);
  if (removed.length > 0) ctx.writes.agedOut(removed.length, cap, ctx.clock.now().getTime());
}

/** Keeps arch/firmware/uuid/vendor class current (written only when they change; native PXE over iPXE). */
export function refreshIdentity(ctx: PolicyContext, machine: Machine, c: BootClient): void {
  if (c.isIpxe) return; // iPXE reports its own arch/vendor class, not the firmware's.
  if (machine.arch === c.arch && machine.firmware === c.firmware && (c.uuid === null || machine.uuid === c.uuid)) return;
  ctx.registry.machineUpdate(machine.mac, {
    arch: c.arch,
    firmware: c.firmware,
    ...(c.uuid !== null ? { uuid: c.uuid } : {}),
    ...(c.vendorClass !== null ? { vendorClass: c.vendorClass } : {}),
  });
}
