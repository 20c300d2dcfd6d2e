// HTTP request metrics on the daemon's prom-client registry (src/appliance/metrics.ts): requests by route
// pattern/method/status and a duration histogram. Series are cached per (route, method, status) so the hot path
// (script-fastpath.ts, the onResponse hook) does one map lookup and two prom-client calls per request.

import type { Counter, Histogram } from 'prom-client';
import { PxedMetrics } from '../appliance/metrics.js';

/** One (route, method, status) series: count a request and observe its duration. */
export interface RequestSeries {
  done(seconds: number): void;
}

export class HttpMetrics {
  private readonly series = new Map<string, RequestSeries>();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly duration: Histogram<'route' | 'method' | 'status'>;

  /** Without a registry of its own (tests, the bench), it makes one without process metrics. */
  constructor(readonly metrics: PxedMetrics = new PxedMetrics({ processMetrics: false })) {
    this.requests = metrics.httpRequests;
    this.duration = metrics.httpDuration;
  }

  /** `route` is the route pattern (e.g. /ipxe/:mac), never the raw URL, so label cardinality stays bounded. */
  countRequest(route: string, method: string, status: number, seconds: number): void {
    this.counter(route, method, status).done(seconds);
  }

  /** The series for (route, method, status); a hot path keeps it. */
  counter(route: string, method: string, status: number): RequestSeries {
    const key = `${route}\u0000${method}\u0000${status}`;
    let s = this.series.get(key);
    if (s === undefined) {
      const labels = { route, method, status: String(status) };
      const c = this.requests.labels(labels);
      const h = this.duration.labels(labels);
      s = {
        done: (seconds) => {
          c.inc();
          h.observe(seconds);
        },
      };
      this.series.set(key, s);
    }
    return s;
  }

  /** The whole registry's exposition (machines, DHCP, TFTP, process metrics too when wired by the app). */
  render(): Promise<{ contentType: string; body: string }> {
    return this.metrics.render();
  }
}
