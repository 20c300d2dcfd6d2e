// bench/http diagnostics (not product code): where an install-script request spends its time, seen from the server.
// Per connection (keyed by the client's port) it records, in the server's thread:
//   data  — the request's bytes reach JS (the socket's 'data' event, before the HTTP parser runs),
//   done  — the response's 'finish' (its last byte handed to the kernel),
// so that `data(k+1) - done(k)` on one connection is the time the request spent outside the server's JS (the client
// reading the answer and writing the next request, the kernel, and the server's loop not yet reaching that socket),
// and `done - data` the server's own service time. With wrk's latency (client write → response read) beside it, a
// tail that is not in `done - data` is in the gap. A sampler of `ss` in the same network namespace says which
// side's queue holds the bytes meanwhile (Recv-Q of the server's sockets: the server has not read; of wrk's: wrk
// has not).

import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

interface ConnState {
  lastDone: number;
  pendingData: number;
  requests: number;
  /** The 'connection' event, the first request's data and answer (performance.now()). */
  accepted: number;
  firstData: number;
  firstDone: number;
}

export interface Timeline {
  /** Stops recording and returns the distributions (ms). */
  stop(): Promise<string>;
}

function pct(xs: Float64Array | number[], ps: number[]): string {
  const s = Float64Array.from(xs).sort();
  if (s.length === 0) return 'none';
  return ps.map((p) => `p${p} ${s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(1)}`).join(', ') + `, max ${s[s.length - 1]!.toFixed(1)}`;
}

/** Starts recording on `server` (requests on connections opened after this call only). */
export function recordTimeline(server: Server, serverPort: number): Timeline {
  const service: number[] = [];
  const gaps: number[] = [];
  const conns = new Map<number, ConnState>();
  let recording = true;
  const onConnection = (socket: Socket): void => {
    const st: ConnState = { lastDone: -1, pendingData: -1, requests: 0, accepted: performance.now(), firstData: -1, firstDone: -1 };
    conns.set(socket.remotePort ?? -1, st);
    socket.prependListener('data', () => {
      if (!recording) return;
      st.pendingData = performance.now();
      if (st.firstData < 0) st.firstData = st.pendingData;
      if (st.lastDone >= 0) gaps.push(st.pendingData - st.lastDone);
    });
  };
  // The answer is complete when the response's 'finish' fires (the fast path may answer in a later turn: turns.ts).
  const onRequest = (req: { socket: Socket }, res: { once(ev: 'finish', fn: () => void): void }): void => {
    if (!recording) return;
    const st = conns.get(req.socket.remotePort ?? -1);
    if (st === undefined || st.pendingData < 0) return;
    res.once('finish', () => {
      st.lastDone = performance.now();
      service.push(st.lastDone - st.pendingData);
      st.requests++;
      if (st.firstDone < 0) st.firstDone = st.lastDone;
      st.pendingData = -1;
    });
  };
  server.on('connection', onConnection);
  server.on('request', onRequest);

  // ss every 20 ms: how many sockets have unread bytes, on which side, and the longest run of samples one socket
  // kept them.
  const queued = { server: 0, client: 0, samples: 0 };
  const runs = new Map<string, number>();
  let longest = { server: 0, client: 0 };
  let sampling = true;
  const sample = (): Promise<void> =>
    new Promise((resolve) => {
      execFile('ss', ['-Htn', 'state', 'established', `( sport = :${serverPort} or dport = :${serverPort} )`], (err, out) => {
        if (err === null) {
          queued.samples++;
          const seen = new Set<string>();
          for (const line of out.split('\n')) {
            const f = line.trim().split(/\s+/);
            if (f.length < 4) continue;
            const recvQ = Number(f[0]);
            const local = f[2]!;
            const side = local.endsWith(`:${serverPort}`) ? 'server' : 'client';
            if (recvQ > 0) {
              queued[side]++;
              const key = `${side} ${local}`;
              seen.add(key);
              const n = (runs.get(key) ?? 0) + 1;
              runs.set(key, n);
              if (n > longest[side]) longest = { ...longest, [side]: n };
            }
          }
          for (const k of runs.keys()) if (!seen.has(k)) runs.delete(k);
        }
        resolve();
      });
    });
  const sampler = (async () => {
    while (sampling) {
      await sample();
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  return {
    async stop() {
      recording = false;
      sampling = false;
      await sampler;
      server.off('connection', onConnection);
      server.off('request', onRequest);
      const perConn = [...conns.values()].map((c) => c.requests).filter((n) => n > 0);
      const cs = [...conns.values()].filter((c) => c.firstDone >= 0);
      const t0 = Math.min(...cs.map((c) => c.accepted));
      const firsts = cs
        .sort((a, b) => b.firstDone - b.accepted - (a.firstDone - a.accepted))
        .slice(0, 8)
        .map((c) => `accepted +${(c.accepted - t0).toFixed(0)}, data +${(c.firstData - t0).toFixed(0)}, answered +${(c.firstDone - t0).toFixed(0)}`);
      return [
        `connections accepted over ${(Math.max(...cs.map((c) => c.accepted)) - t0).toFixed(0)} ms; slowest first answers (ms from the first accept): ${firsts.join('; ')}`,
        `requests per connection over ${perConn.length} connections: ${pct(perConn, [0, 10, 50, 90])}`,
        `server service (data → answered), ${service.length} requests: ${pct(service, [50, 90, 99, 99.9])} ms`,
        `gap on a connection (answered → next request's data), ${gaps.length}: ${pct(gaps, [50, 90, 98, 99, 99.9])} ms`,
        `ss, ${queued.samples} samples: sockets with unread bytes per sample, server side ${(queued.server / Math.max(1, queued.samples)).toFixed(1)}, ` +
          `wrk side ${(queued.client / Math.max(1, queued.samples)).toFixed(1)}; longest run of consecutive samples one socket held unread bytes: server ${longest.server}, wrk ${longest.client}`,
      ].join('\n  ');
    },
  };
}
