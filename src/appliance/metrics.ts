// Prometheus metrics for the whole daemon, on one prom-client registry that GET /metrics renders (HTTP request
// metrics are added to it by src/http/metrics.ts).
// The protocols see only the small ports below (DhcpMetricsPort, TftpMetricsPort) with no-op defaults, so
// src/dhcp and src/tftp neither import prom-client nor pay for anything when metrics are off; app.ts wires them.
// Label values are bounded sets (message types, arch codes, outcomes, route patterns), never raw client input.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BootEvent } from '../model/events.js';
import { MACHINE_STATES, type MachineState } from '../model/machine.js';

/** What the DHCP service reports: one call per answered, ignored or malformed packet. */
export interface DhcpMetricsPort {
  /** `kind`: the reply sent ('proxy offer', 'proxy ack', 'boot server ack', 'offer', 'ack', 'nak'), or 'ignored' /
   *  'malformed'; `type`: the request's option-53 name when known; `arch`: option 93 when known. */
  packet(kind: string, type: number | null, arch: number | null): void;
}

/** What the TFTP service reports: one call per finished, failed or refused transfer. */
export interface TftpMetricsPort {
  transfer(outcome: string, bytes: number, retransmits: number, durationMs: number): void;
}

export const noDhcpMetrics: DhcpMetricsPort = { packet: () => undefined };
export const noTftpMetrics: TftpMetricsPort = { transfer: () => undefined };

const DHCP_TYPES: Record<number, string> = { 1: 'discover', 2: 'offer', 3: 'request', 4: 'decline', 5: 'ack', 6: 'nak', 7: 'release', 8: 'inform' };
const KNOWN_ARCH = new Set([0, 6, 7, 9, 10, 11, 16, 19]);

export class PxedMetrics {
  readonly registry = new Registry();
  readonly dhcpPackets: Counter<'type' | 'arch' | 'result'>;
  readonly tftpTransfers: Counter<'outcome'>;
  readonly tftpBytes: Counter;
  readonly tftpRetransmits: Counter;
  readonly tftpDuration: Histogram;
  readonly installDuration: Histogram;
  readonly watchdogFirings: Counter;
  readonly writesLimited: Counter<'kind'>;
  readonly discoveredAgedOut: Counter;
  private readonly machinesGauge: Gauge<'state'>;
  private machineCounts: (() => Promise<Partial<Record<MachineState, number>> | null>) | null = null;
  private readonly dhcpCounts = new Map<string, { labels: { type: string; arch: string; result: string }; n: number }>();
  /** mac -> ms when the machine was armed (entered `booting`); bounded by the machines in flight. */
  private readonly armedAt = new Map<string, number>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // Counted in plain numbers per packet (prom-client's labelled inc costs microseconds) and copied at scrape time.
    const dhcpCounts = this.dhcpCounts;
    this.dhcpPackets = new Counter({
      name: 'pxed_dhcp_packets_total',
      help: 'DHCP packets handled, by request type, client architecture (option 93) and result (reply sent, ignored, malformed).',
      labelNames: ['type', 'arch', 'result'],
      registers,
      collect() {
        this.reset();
        for (const c of dhcpCounts.values()) this.inc(c.labels, c.n);
      },
    });
    this.tftpTransfers = new Counter({ name: 'pxed_tftp_transfers_total', help: 'TFTP transfers ended, by outcome.', labelNames: ['outcome'], registers });
    this.tftpBytes = new Counter({ name: 'pxed_tftp_bytes_total', help: 'TFTP payload bytes acknowledged by clients.', registers });
    this.tftpRetransmits = new Counter({ name: 'pxed_tftp_retransmits_total', help: 'TFTP packets sent again after a timeout.', registers });
    this.tftpDuration = new Histogram({
      name: 'pxed_tftp_transfer_duration_seconds',
      help: 'Duration of TFTP transfers that sent data.',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.installDuration = new Histogram({
      name: 'pxed_install_duration_seconds',
      help: 'Time from arming an install (machine enters booting) to installed.',
      buckets: [60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200],
      registers,
    });
    this.watchdogFirings = new Counter({ name: 'pxed_watchdog_firings_total', help: 'Machines the install watchdog marked stalled.', registers });
    this.writesLimited = new Counter({
      name: 'pxed_boot_writes_limited_total',
      help: 'Timeline writes of unauthenticated traffic skipped by a write budget, by kind (dhcp, script, asset, tftp, phone-home, discovery).',
      labelNames: ['kind'],
      registers,
    });
    this.discoveredAgedOut = new Counter({
      name: 'pxed_discovered_aged_out_total',
      help: 'Discovered (unadopted) machines removed by the policy.limits.max_discovered cap, oldest first.',
      registers,
    });
    const counts = (): ReturnType<NonNullable<PxedMetrics['machineCounts']>> | null => this.machineCounts?.() ?? null;
    this.machinesGauge = new Gauge({
      name: 'pxed_machines',
      help: 'Machines in the registry, by lifecycle state.',
      labelNames: ['state'],
      registers,
      async collect() {
        const c = await counts();
        this.reset();
        if (c === null) return;
        for (const s of MACHINE_STATES) this.set({ state: s }, c[s] ?? 0);
      },
    });
    // Process metrics (CPU, memory, fds) and Node's: heap, GC, event-loop lag (nodejs_eventloop_lag_seconds).
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
  }

  /** Where `pxed_machines` reads its counts at scrape time (a failing source drops the series, not the scrape). */
  machinesFrom(source: () => Promise<Partial<Record<MachineState, number>>> | Partial<Record<MachineState, number>>): void {
    this.machineCounts = async () => {
      try {
        return await source();
      } catch {
        return null;
      }
    };
  }

  /** Feed of registry events: install duration (booting → installed) and watchdog firings (→ stalled). */
  onEvent(e: BootEvent): void {
    if (e.kind !== 'state') return;
    const to = e.detail.to;
    const t = Date.parse(e.time);
    if (to === 'booting') {
      this.armedAt.set(e.mac, t);
      if (this.armedAt.size > 100_000) this.armedAt.clear();
    } else if (to === 'installed') {
      const from = this.armedAt.get(e.mac);
      this.armedAt.delete(e.mac);
      if (from !== undefined && t >= from) this.installDuration.observe((t - from) / 1000);
    } else if (to === 'stalled') {
      this.watchdogFirings.inc();
    } else if (to === 'registered' || to === 'failed') {
      this.armedAt.delete(e.mac);
    }
  }

  readonly dhcp: DhcpMetricsPort = {
    packet: (kind, type, arch) => {
      const t = type === null ? 'none' : (DHCP_TYPES[type] ?? 'other');
      const a = arch === null ? 'none' : KNOWN_ARCH.has(arch) ? String(arch) : 'other';
      const key = `${kind}|${t}|${a}`;
      const c = this.dhcpCounts.get(key);
      if (c !== undefined) c.n++;
      else this.dhcpCounts.set(key, { labels: { type: t, arch: a, result: kind.replace(/ /g, '_') }, n: 1 });
    },
  };

  readonly tftp: TftpMetricsPort = {
    transfer: (outcome, bytes, retransmits, durationMs) => {
      this.tftpTransfers.inc({ outcome });
      if (bytes > 0) {
        this.tftpBytes.inc(bytes);
        this.tftpDuration.observe(durationMs / 1000);
      }
      if (retransmits > 0) this.tftpRetransmits.inc(retransmits);
    },
  };

  /** The boot policy's port (src/boot/budget.ts BootMetricsPort); kinds are the policy's fixed set. */
  readonly boot = {
    writeLimited: (kind: string): void => this.writesLimited.inc({ kind }),
    discoveredAgedOut: (n: number): void => this.discoveredAgedOut.inc(n),
  };

  /** The text exposition and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
