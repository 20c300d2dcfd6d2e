// Transfer reports: what TFTP and the HTTP asset routes served, put on the timeline of the machine that last used
// the client's address (or logged at debug level when no known machine did).

import { BootEvents, type TftpDetail } from '../model/events.js';
import type { Attribution } from './attribution.js';
import { secureBootStage } from './chain.js';
import { GRUB_ASSET_PREFIX } from './grub.js';
import type { RepeatGate } from './repeats.js';
import type { PolicyContext } from './settings.js';
import type { TftpTransferReport } from './types.js';

/** One TFTP transfer's outcome; a file of the signed chain carries its Secure Boot stage (model/secure-boot.ts). */
export function recordTftpTransfer(ctx: PolicyContext, attribution: Attribution, report: TftpTransferReport): void {
  const mac = attribution.macForIp(report.client.address);
  const stage = ctx.settings.signed === undefined ? null : secureBootStage(report.path, GRUB_ASSET_PREFIX);
  const detail: TftpDetail = {
    path: report.path,
    bytes: report.bytes,
    durationMs: report.durationMs,
    outcome: report.outcome,
    options: report.options,
    client: `${report.client.address}:${report.client.port}`,
    ...(report.detail !== undefined ? { detail: report.detail } : {}),
    ...(stage !== null ? { secureBootStage: stage } : {}),
  };
  if (mac === null || ctx.registry.machineGet(mac) === null) {
    ctx.log.debug('tftp transfer from an address with no known machine', detail);
    return;
  }
  if (!ctx.writes.allow('tftp', mac, report.client.address, ctx.clock.now().getTime())) return;
  ctx.registry.eventAppend(mac, BootEvents.tftp(detail));
}

/**
 * An asset (kernel, initrd, ...) fully or partly served. Answers that carried no bytes (HEAD, 304, 416) are folded
 * per machine and status (`empty`: one event per REPEAT window, `repeats` on the next); all are within the budgets.
 */
export function recordAssetServed(
  ctx: PolicyContext,
  attribution: Attribution,
  empty: RepeatGate,
  report: { clientAddress: string; path: string; bytes: number; status: number },
): void {
  const { clientAddress, path, bytes, status } = report;
  const mac = attribution.macForIp(clientAddress);
  if (mac === null || ctx.registry.machineGet(mac) === null) {
    if (ctx.log.enabled('debug')) ctx.log.debug('asset served to an address with no known machine', { client: clientAddress, path, bytes, status });
    return;
  }
  const now = ctx.clock.now().getTime();
  const folded = bytes === 0 ? empty.admit(mac, `asset-${status}`, now) : { repeats: 0 };
  if (folded === null || !ctx.writes.allow('asset', mac, clientAddress, now)) return;
  ctx.registry.eventAppend(mac, BootEvents.asset({ path, bytes, status, client: clientAddress, ...(folded.repeats > 0 ? { repeats: folded.repeats } : {}) }));
}
