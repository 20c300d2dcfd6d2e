// What `pxed provision` shows: live status (TTY: one redrawn line per host with stage, elapsed time and the last
// event; otherwise one timestamped line per change) and the summary table at the end.

import type { AnsibleStats, HostSummaryRow, Stage } from './types.js';

/** Ansible's play recap for one host, as its PLAY RECAP line names the counters. */
export function recap(s: AnsibleStats): string {
  return `ok=${s.ok} changed=${s.changed} unreachable=${s.unreachable} failed=${s.failed} skipped=${s.skipped}`;
}

export interface StatusBoard {
  update(host: string, stage: Stage | 'done', text: string): void;
  /** Stops redrawing (before the summary is printed). */
  stop(): void;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;

export function statusBoard(hosts: readonly string[], write: (t: string) => void, tty: boolean, now = () => Date.now()): StatusBoard {
  const started = new Map<string, number>();
  const width = Math.max(4, ...hosts.map((h) => h.length));
  if (!tty) {
    return {
      update(host, stage, text) {
        write(`${new Date(now()).toISOString()} ${host.padEnd(width)} ${stage.padEnd(5)} ${text}\n`);
      },
      stop() {},
    };
  }
  let drawn = 0;
  let timer: NodeJS.Timeout | null = null;
  const state = new Map<string, { stage: string; text: string }>();
  const render = () => {
    const out: string[] = [];
    for (const h of hosts) {
      const s = state.get(h);
      const t0 = started.get(h);
      const el = t0 === undefined ? '' : secs(now() - t0);
      const line = `${h.padEnd(width)}  ${(s?.stage ?? 'wait').padEnd(5)}  ${el.padStart(6)}  ${s?.text ?? ''}`;
      out.push(line.slice(0, (process.stdout.columns || 120) - 1));
    }
    write((drawn > 0 ? `\x1b[${drawn}A` : '') + out.map((l) => `\x1b[2K${l}\n`).join(''));
    drawn = out.length;
  };
  return {
    update(host, stage, text) {
      if (!started.has(host)) started.set(host, now());
      state.set(host, { stage, text });
      timer ??= setInterval(render, 250);
      timer.unref();
      render();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      if (drawn > 0) render();
    },
  };
}

export function summaryTable(rows: readonly HostSummaryRow[]): string {
  const head = ['HOST', 'STAGES', 'RESULT', 'STATE', 'DURATION', 'IP', 'SSH', 'LOG'];
  const cells = rows.map((r) => [
    r.host,
    r.stagesDone.join(',') || '-',
    r.result === 'ok' ? 'ok' : `${r.result} (${r.failedStage ?? '-'})`,
    r.state ?? '-',
    secs(r.durationMs),
    r.ip ?? '-',
    r.ssh ?? '-',
    r.log,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  const failed = rows.filter((r) => r.error !== null).map((r) => r.error!);
  const recaps = rows.filter((r) => r.ansible !== null).map((r) => `${r.host}: ansible ${recap(r.ansible!)}`);
  const ok = rows.filter((r) => r.result === 'ok').length;
  return [
    line(head),
    ...cells.map(line),
    '',
    ...(recaps.length > 0 ? [...recaps, ''] : []),
    ...(failed.length > 0 ? [...failed, ''] : []),
    `${ok}/${rows.length} host${rows.length === 1 ? '' : 's'} ok`,
    '',
  ].join('\n');
}
