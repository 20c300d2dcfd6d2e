// Phone-home: what the installer reports (a Subiquity reporting-webhook event or a script's {status}), validated,
// and the state change it implies: installing, installed (tokens revoked) or failed.

import { PxedError } from '../errors.js';
import { BootEvents } from '../model/events.js';
import type { Machine, MachineState } from '../model/machine.js';
import type { PolicyContext } from './settings.js';
import type { BootTokens } from './tokens.js';
import type { PhoneHomeRequest } from './types.js';

/** States that accept a phone-home or artifact as progress. */
export const ACTIVE_STATES: readonly MachineState[] = ['booting', 'installing', 'stalled'];
const DONE_STATES: readonly MachineState[] = ['installed', 'post-installing', 'configured', 'failed'];

/** A Subiquity reporting-webhook event or a script's status report, validated. */
type PhoneHomeReport =
  | { type: 'status'; status: 'installed' | 'failed'; detail: string | null }
  | {
      type: 'subiquity';
      eventType: string;
      name: string;
      result: string | null;
      description: string | null;
      origin: string | null;
      timestamp: number | string | null;
    };

function clip(s: string, n = 500): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

/** The top-level late stage of a Subiquity install (its `finish` with SUCCESS means the install is done). */
export function isSubiquityLateStage(name: string): boolean {
  return name === 'subiquity/Late/run' || /\/late$/i.test(name);
}

export function parsePhoneHome(body: unknown): PhoneHomeReport {
  const bad = (field: string, msg: string): PxedError =>
    new PxedError('BOOT_BAD_INPUT', `phone-home body: ${field} ${msg}`, { field });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body', 'must be a JSON object');
  const o = body as Record<string, unknown>;
  const optStr = (k: string): string | null => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw bad(k, 'must be a string');
    return clip(v);
  };
  if ('status' in o) {
    if (o.status !== 'installed' && o.status !== 'failed') throw bad('status', 'must be "installed" or "failed"');
    const d = o.detail;
    const detail = d === undefined || d === null ? null : clip(typeof d === 'string' ? d : JSON.stringify(d));
    return { type: 'status', status: o.status, detail };
  }
  if (typeof o.event_type !== 'string' || o.event_type.length === 0) throw bad('event_type', 'must be a non-empty string');
  if (typeof o.name !== 'string' || o.name.length === 0) throw bad('name', 'must be a non-empty string');
  const ts = o.timestamp;
  return {
    type: 'subiquity',
    eventType: clip(o.event_type, 40),
    name: clip(o.name, 200),
    result: optStr('result'),
    description: optStr('description'),
    origin: optStr('origin'),
    timestamp: typeof ts === 'number' || typeof ts === 'string' ? ts : null,
  };
}

/** → failed (when the lifecycle allows it) and the install's tokens are revoked. */
export function failInstall(ctx: PolicyContext, machine: Machine, reason: string, detail: Record<string, unknown>): void {
  ctx.registry.atomically(() => {
    if (ACTIVE_STATES.includes(machine.state)) ctx.registry.machineTransition(machine.mac, 'failed', reason, detail);
    else ctx.registry.eventAppend(machine.mac, BootEvents.error(reason, detail));
    ctx.registry.tokenRevokeAll(machine.mac, ctx.clock.now().toISOString());
  });
}

/** Throws BOOT_BAD_INPUT (→ 400) for a body that is neither a Subiquity event nor a status report. */
export function phoneHome(ctx: PolicyContext, tokens: BootTokens, req: PhoneHomeRequest): { state: string } | null {
  const r = tokens.resolveFrom(req.token, req.clientAddress, 'phone-home');
  if (r === null) return null;
  const { machine, token } = r;
  if (r.status !== 'live') {
    // Idempotence: the install already ended (which revoked the token) and the installer repeats itself. Answered
    // throughout the grace (guard.ts); recorded within the machine's write budget (budget.ts).
    if (r.status === 'revoked' && DONE_STATES.includes(machine.state)) {
      const report = parsePhoneHome(req.body);
      if (ctx.writes.allow('phone-home', machine.mac, req.clientAddress, ctx.clock.now().getTime())) ctx.registry.eventAppend(machine.mac, BootEvents.phoneHome({ bootId: token.bootId, after: machine.state, ...report, client: req.clientAddress }));
      return { state: machine.state };
    }
    return tokens.refuse(r, 'phone-home', req.clientAddress);
  }
  const report = parsePhoneHome(req.body);
  const detail = { bootId: token.bootId };
  let outcome: 'installed' | 'failed' | 'progress';
  let why: string;
  if (report.type === 'status') {
    outcome = report.status;
    why = `installer reported ${report.status}${report.detail !== null ? `: ${report.detail}` : ''}`;
  } else if (report.eventType === 'finish' && report.result === 'FAIL' && report.name.startsWith('subiquity/')) {
    outcome = 'failed';
    why = `Subiquity ${report.name} failed${report.description !== null ? `: ${report.description}` : ''}`;
  } else if (
    report.eventType === 'finish' &&
    (report.result === 'SUCCESS' || report.result === 'WARN') &&
    isSubiquityLateStage(report.name)
  ) {
    outcome = 'installed';
    why = `Subiquity ${report.name} finished (${report.result})`;
  } else {
    outcome = 'progress';
    why = `installer reported progress (${report.eventType} ${report.name})`;
  }
  const state = machine.state;
  // The report and the state change it causes land together or not at all.
  ctx.registry.atomically(() => {
    ctx.registry.eventAppend(machine.mac, BootEvents.phoneHome({ bootId: token.bootId, ...report, client: req.clientAddress }));
    if (outcome === 'installed') {
      if (ACTIVE_STATES.includes(state)) ctx.registry.machineTransition(machine.mac, 'installed', why, detail);
      ctx.registry.tokenRevokeAll(machine.mac, ctx.clock.now().toISOString());
    } else if (outcome === 'failed') {
      failInstall(ctx, machine, why, detail);
    } else if (state === 'booting' || state === 'stalled') {
      ctx.registry.machineTransition(machine.mac, 'installing', why, detail);
    }
  });
  return { state: ctx.registry.machineGet(machine.mac)?.state ?? state };
}
