// Human output of the client commands: aligned tables, the machine's identity, its timeline as sentences with the
// stage and the hint (model/stage.ts, the same function the admin page uses). Every cell and line goes through the
// one terminal escaper (escape.ts), so machine- or LAN-supplied text reaches the terminal with its control characters
// made visible. JSON output never goes through here.

import type { BootEvent } from '../model/events.js';
import type { Machine } from '../model/machine.js';
import { eventSentence } from '../model/sentences.js';
import { STAGE_LABEL, stageView } from '../model/stage.js';
import { escapeField } from './escape.js';

const orDash = (s: string | null | undefined): string => (s === null || s === undefined || s === '' ? '-' : s);

/** Columns padded to the widest (escaped) cell, by code points; the last column is not padded. */
export function table(head: string[], raw: string[][]): string {
  const rows = raw.map((r) => r.map(escapeField));
  const len = (s: string): number => [...s].length;
  const widths = head.map((h, i) => Math.max(len(h), ...rows.map((r) => len(r[i] ?? ''))));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - len(c)))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export function machineTable(machines: readonly Machine[]): string {
  return table(
    ['MAC', 'HOST', 'STATE', 'MODE', 'IP', 'SINCE'],
    machines.map((m) => [m.mac, orDash(m.host), m.state, m.installMode, orDash(m.ip), m.stateChangedAt]),
  );
}

export function describeMachine(m: Machine): string {
  const fields: [string, string][] = [
    ['mac', m.mac],
    ['host', orDash(m.host)],
    ['state', `${m.state} (since ${m.stateChangedAt})`],
    ['install mode', m.installMode],
    ['ip', orDash(m.ip)],
    ['arch', m.arch === null ? '-' : String(m.arch)],
    ['firmware', orDash(m.firmware)],
    ['uuid', orDash(m.uuid)],
    ['vendor class', orDash(m.vendorClass)],
    ['overrides', Object.keys(m.overrides).length === 0 ? '-' : JSON.stringify(m.overrides)],
    ['created', m.createdAt],
    ['updated', m.updatedAt],
  ];
  return fields.map(([k, v]) => `${(k + ':').padEnd(14)}${escapeField(v)}\n`).join('');
}

/** `pxed machines show`: identity, stage, hint, then the last `boots` boots' sentences. */
export function showText(m: Machine, events: readonly BootEvent[], boots: number): string {
  const view = stageView(events, m.state);
  const bar = view.bar.map((s) => (s.status === 'done' ? s.label : s.status === 'pending' ? `(${s.label})` : `[${s.label}: ${s.status}]`)).join(' → ');
  const out = [describeMachine(m), `stage:        ${view.stage === null ? 'done' : `${STAGE_LABEL[view.stage]} (${view.status})`}\n`, `progress:     ${bar}\n`];
  if (view.hint !== null) out.push(`hint:         ${escapeField(view.hint)}\n`);
  const shown = boots === 0 ? [] : view.boots.slice(-boots);
  for (const [i, b] of shown.entries()) {
    out.push(`\nboot ${view.boots.length - shown.length + i + 1} (${escapeField(b.startedAt)}):\n`);
    for (const l of b.lines) out.push(`  ${escapeField(l.time)}  ${escapeField(l.text)}\n`);
  }
  return out.join('');
}

/** `pxed events`: one line per event. */
export function eventLine(e: BootEvent): string {
  return `${escapeField(e.time)}  ${escapeField(e.mac)}  ${escapeField(eventSentence(e))}\n`;
}
