// Progress of `pxed assets fetch`: on a terminal one redrawn line (bar, bytes, rate, ETA); otherwise a plain line
// at most every 10 % (or every 64 MiB when the size is unknown), so logs stay short.

import type { DownloadProgress } from './download.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number): string => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** "1.2 GiB / 2.6 GiB  45%  12.3 MiB/s  ETA 01:54" (fields it cannot know are left out). */
export function progressText(p: DownloadProgress): string {
  const rate = p.elapsedMs > 0 ? (p.received * 1000) / p.elapsedMs : 0;
  const parts = [p.total !== null ? `${formatBytes(p.bytes)} / ${formatBytes(p.total)}` : formatBytes(p.bytes)];
  if (p.total !== null && p.total > 0) parts.push(`${Math.floor((p.bytes * 100) / p.total)}%`);
  parts.push(`${formatBytes(Math.round(rate))}/s`);
  if (p.total !== null && rate > 0) parts.push(`ETA ${formatDuration((p.total - p.bytes) / rate)}`);
  return parts.join('  ');
}

export function progressBar(p: DownloadProgress, width = 24): string {
  if (p.total === null || p.total <= 0) return '';
  const filled = Math.min(width, Math.floor((p.bytes * width) / p.total));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] `;
}

/** A progress sink: `update` per progress event, `end` when the asset is done (clears the TTY line). */
export function progressPrinter(write: (text: string) => void, tty: boolean): { update(name: string, p: DownloadProgress): void; end(): void } {
  let drawn = false;
  let lastStep = -1;
  return {
    update(name, p) {
      if (tty) {
        write(`\r\x1b[2K${name} ${progressBar(p)}${progressText(p)}`);
        drawn = true;
        return;
      }
      const step = p.total !== null && p.total > 0 ? Math.floor((p.bytes * 10) / p.total) : Math.floor(p.bytes / (64 * 1024 ** 2));
      if (step === lastStep) return;
      lastStep = step;
      write(`${name}: ${progressText(p)}\n`);
    },
    end() {
      if (drawn) write('\r\x1b[2K');
      drawn = false;
      lastStep = -1;
    },
  };
}
