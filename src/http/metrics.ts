// HTTP request metrics on the daemon's prom-client registry (src/appliance/metrics.ts): requests by route
// pattern/method/status and a duration histogram. The hot path (script-fastpath.ts, the onResponse hook) only bumps
// plain numbers in a cached series; prom-client reads them at scrape time through two metric objects registered
// on the registry (its labelled inc/observe validate and hash labels per call: ~3 µs, too much per request).

import type { Registry } from 'prom-client';
import { PxedMetrics } from '../appliance/metrics.js';

/** Upper bounds (seconds) of the request duration histogram. */
export const HTTP_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

/** One (route, method, status) series: count a request and observe its duration. */
export interface RequestSeries {
  done(seconds: number): void;
}

interface Series {
  labels: { route: string; method: string; status: string };
  count: number;
  sum: number;
  /** Per-bucket (non-cumulative) counts; the last slot is +Inf. */
  buckets: Float64Array;
}

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

export class HttpMetrics {
  private readonly series = new Map<string, Series & RequestSeries>();

  /** Without a registry of its own (tests, the bench), it makes one without process metrics. */
  constructor(readonly metrics: PxedMetrics = new PxedMetrics({ processMetrics: false })) {
    register(metrics.registry, this.series);
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
      const series: Series & RequestSeries = {
        labels: { route, method, status: String(status) },
        count: 0,
        sum: 0,
        buckets: new Float64Array(HTTP_BUCKETS.length + 1),
        done(seconds) {
          this.count++;
          this.sum += seconds;
          let i = 0;
          while (i < HTTP_BUCKETS.length && seconds > HTTP_BUCKETS[i]!) i++;
          this.buckets[i]!++;
        },
      };
      s = series;
      this.series.set(key, s);
    }
    return s;
  }

  /** The whole registry's exposition (machines, DHCP, TFTP, process metrics too when wired by the app). */
  render(): Promise<{ contentType: string; body: string }> {
    return this.metrics.render();
  }
}

/** Registers pxed_http_requests_total and pxed_http_request_duration_seconds, read from `series` at scrape time. */
function register(registry: Registry, series: Map<string, Series>): void {
  const sorted = (): Series[] => [...series.values()].filter((s) => s.count > 0);
  const requests = {
    name: 'pxed_http_requests_total',
    get: () => ({
      name: 'pxed_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      type: 'counter',
      aggregator: 'sum',
      values: sorted().map((s): Value => ({ labels: s.labels, value: s.count })),
    }),
  };
  const duration = {
    name: 'pxed_http_request_duration_seconds',
    get: () => {
      const values: Value[] = [];
      for (const s of sorted()) {
        let acc = 0;
        HTTP_BUCKETS.forEach((le, i) => {
          acc += s.buckets[i]!;
          values.push({ labels: { ...s.labels, le }, value: acc, metricName: 'pxed_http_request_duration_seconds_bucket' });
        });
        values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: 'pxed_http_request_duration_seconds_bucket' });
        values.push({ labels: s.labels, value: s.sum, metricName: 'pxed_http_request_duration_seconds_sum' });
        values.push({ labels: s.labels, value: s.count, metricName: 'pxed_http_request_duration_seconds_count' });
      }
      return {
        name: 'pxed_http_request_duration_seconds',
        help: 'HTTP request duration until the response was handed to the socket, by route pattern, method and status.',
        type: 'histogram',
        aggregator: 'sum',
        values,
      };
    },
  };
  // prom-client's registerMetric takes any object with a name and get() (its Metric interface).
  registry.registerMetric(requests as unknown as Parameters<Registry['registerMetric']>[0]);
  registry.registerMetric(duration as unknown as Parameters<Registry['registerMetric']>[0]);
}
