// Prometheus text exposition (format 0.0.4) for GET /metrics: requests by route/method/status, machines by state,
// process memory. Counters live in memory and restart with the daemon, as Prometheus expects.

import { MACHINE_STATES, type MachineState } from '../model/machine.js';

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** One requests_total series. */
export interface RequestCounter {
  readonly route: string;
  readonly method: string;
  readonly status: number;
  n: number;
}

export class HttpMetrics {
  private readonly requests = new Map<string, RequestCounter>();

  /** `route` is the route pattern (e.g. /ipxe/:mac), never the raw URL, so label cardinality stays bounded. */
  countRequest(route: string, method: string, status: number): void {
    this.counter(route, method, status).n++;
  }

  /** The series for (route, method, status); a hot path keeps it and increments `n` itself. */
  counter(route: string, method: string, status: number): RequestCounter {
    const key = `${route}\u0000${method}\u0000${status}`;
    let c = this.requests.get(key);
    if (c === undefined) {
      c = { route, method, status, n: 0 };
      this.requests.set(key, c);
    }
    return c;
  }

  render(machines: Partial<Record<MachineState, number>> | null): string {
    const lines: string[] = [];
    lines.push('# HELP pxed_http_requests_total HTTP requests answered, by route pattern, method and status.');
    lines.push('# TYPE pxed_http_requests_total counter');
    for (const [, c] of [...this.requests].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (c.n === 0) continue;
      lines.push(`pxed_http_requests_total{route="${esc(c.route)}",method="${esc(c.method)}",status="${c.status}"} ${c.n}`);
    }
    if (machines !== null) {
      lines.push('# HELP pxed_machines Machines in the registry, by lifecycle state.');
      lines.push('# TYPE pxed_machines gauge');
      for (const s of MACHINE_STATES) lines.push(`pxed_machines{state="${s}"} ${machines[s] ?? 0}`);
    }
    const mem = process.memoryUsage();
    lines.push('# HELP process_resident_memory_bytes Resident memory size in bytes.');
    lines.push('# TYPE process_resident_memory_bytes gauge');
    lines.push(`process_resident_memory_bytes ${mem.rss}`);
    lines.push('# HELP nodejs_heap_used_bytes V8 heap in use, in bytes.');
    lines.push('# TYPE nodejs_heap_used_bytes gauge');
    lines.push(`nodejs_heap_used_bytes ${mem.heapUsed}`);
    lines.push('# HELP nodejs_external_memory_bytes Memory of C++ objects bound to JavaScript objects (buffers), in bytes.');
    lines.push('# TYPE nodejs_external_memory_bytes gauge');
    lines.push(`nodejs_external_memory_bytes ${mem.external}`);
    return lines.join('\n') + '\n';
  }
}
