// HTTP benchmark (not a test): pxed's HTTP app against nginx-light, side by side in one run, both on 127.0.0.1.
//   1. small responses, `wrk -t2 -c64 -d10s --latency`:
//        pxed GET /ipxe/:mac — rendered by the real BootPolicy over a file-backed SQLite registry (lookup + one event
//        append per request), MACs rotating over 256 installed machines (local-boot script) — and, as a second
//        figure, the install script (token minted, state written): ALWAYS_MACHINES registered machines in 'always'
//        mode, each with its install finished (state installed) before every round and each fetched at most once per
//        round, so every request is a real render and mint (revoke, token, state, event) — not a re-serve of the
//        armed script (guard.ts: no re-mint without a new DHCP exchange) nor a rate-limit refusal. The mints
//        are counted in the registry and printed against wrk's request count, with the event loop's delay.
//      vs nginx serving a static 1 KiB file.
//   2. a 64 MiB asset, 4 parallel curls, each fetching it 4 times over one connection: MB/s (1 MB = 10^6 bytes).
// Targets: ≥ 0.5× nginx req/s, ≥ 0.8× nginx MB/s. Writes the figures to docs/benchmarks.md under "## HTTP".
// Run from the repository root: node <outDir>/bench/http/run.js [--no-write] [--smoke] [--install-only]
// (--install-only: nginx and the install-script case only, figures not written; --always=N: install machines, default 80 000.)
// Every process it starts is in its own process group and is ended by PID; the temp dir is removed.

import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { MachineOperations } from '../../src/machines/operations.js';
import { MachineAdmin } from '../../src/boot/admin.js';
import { BootPolicy } from '../../src/boot/policy.js';
import type { HttpDocument } from '../../src/boot/types.js';
import { buildHttpApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/log.js';
import { installLua } from './install-lua.js';
import { freePort, machineInfo, runChild, toMs, waitForPort } from './procs.js';
import { recordTimeline } from './timeline.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import { hostSpec, provisioningOf, settings, stubProfiles } from '../../test/boot/fixtures.js';
import { FakeAdmin, syncScriptPolicy } from '../../test/http/fakes.js';

const HOST = '127.0.0.1';
const ASSET_SIZE = 64 * 1024 * 1024;
const MACHINES = 256;
/** Install-script machines: more than one round can render (wrk's two threads each walk their half once; a round
 * that runs out stops with an error rather than measure re-serves). 40 000 until renders passed 4 000/s in one
 * round (one transaction per turn's renders); --always=N to change it. */
const ALWAYS_MACHINES = Number(/^--always=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--always=')) ?? '')?.[1] ?? 80_000);
/** wrk's 64 connections all come from one address: above the per-client cap a LAN client gets (src/http/limits.ts). */
const BENCH_LIMITS = { perClientConnections: 256 };
/** --smoke: a seconds-long check of the harness itself (figures not written). */
const SMOKE = process.argv.includes('--smoke');
const INSTALL_ONLY = process.argv.includes('--install-only');
/** --timeline: the server-side per-connection timeline and an `ss` sampler during each install round (timeline.ts). */
const TIMELINE = process.argv.includes('--timeline');
/** --raw: wrk's per-response latencies without its coordinated-omission correction (a Lua response hook: costs wrk CPU). */
const RAW = TIMELINE || process.argv.includes('--raw');
const WRK_SECONDS = SMOKE ? 1 : 10;
const CURLS = 4;
const ROUNDS = Number(/^--rounds=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--rounds=')) ?? '')?.[1] ?? (SMOKE ? 1 : 3));
const FETCHES_PER_CURL = SMOKE ? 1 : 4;

interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  requests: number;
  errors: string;
}

async function wrk(url: string, seconds: number, script?: string): Promise<WrkResult> {
  const args = [`-t${process.env.WRK_THREADS ?? 2}`, `-c${process.env.WRK_CONNS ?? 64}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
  const out = await runChild('wrk', args, (seconds + 30) * 1000);
  const tail = out.split('\n').filter((l) => l.startsWith('tail ')).map((l) => l.slice(5)).join('; ');
  if (tail !== '') console.error(`  wrk tail: ${tail}`);
  else if (RAW) console.error(out);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '';
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '';
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const errors = [/Socket errors:[^\n]*/.exec(out)?.[0], /Non-2xx or 3xx responses:[^\n]*/.exec(out)?.[0]].filter(Boolean).join('; ');
  if (!Number.isFinite(rps)) throw new Error(`cannot parse wrk output:\n${out}`);
  return { rps, p50ms: toMs(p50), p99ms: toMs(p99), requests, errors };
}

/** CURLS parallel curls, each fetching the asset FETCHES_PER_CURL times over one connection; MB/s overall. */
async function curlThroughput(url: string): Promise<{ mbps: number; bytes: number; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const outs = await Promise.all(
    Array.from({ length: CURLS }, () =>
      runChild('curl', ['-sS', '--max-time', '120', ...Array.from({ length: FETCHES_PER_CURL }, () => ['-o', '/dev/null', url]).flat(), '-w', '%{size_download}\n'], 180_000),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = outs.flatMap((o) => o.trim().split('\n')).reduce((a, s) => a + Number(s), 0);
  const want = CURLS * FETCHES_PER_CURL * ASSET_SIZE;
  if (bytes !== want) throw new Error(`downloaded ${bytes} bytes, expected ${want}`);
  return { mbps: bytes / 1e6 / seconds, bytes, seconds };
}

function nginxConf(dir: string, port: number): string {
  return [
    'worker_processes 1;',
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/nginx-error.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  keepalive_requests 100000;',
    '  default_type application/octet-stream;',
    `  client_body_temp_path ${dir}/nginx-body;`,
    `  proxy_temp_path ${dir}/nginx-proxy;`,
    `  server { listen ${HOST}:${port}; root ${dir}/www; }`,
    '}',
    '',
  ].join('\n');
}

function writeSection(section: string): void {
  const file = path.join(process.cwd(), 'docs', 'benchmarks.md');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\nFigures from `bench/*/run.ts`, one section per subsystem.\n';
  const start = text.search(/^## HTTP\s*$/m);
  if (start === -1) {
    text = `${text.trimEnd()}\n\n${section}`;
  } else {
    const rest = text.slice(start + 1);
    const next = rest.search(/^## /m);
    text = text.slice(0, start) + section + (next === -1 ? '' : `\n${rest.slice(next)}`);
  }
  fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}

async function main(dir: string): Promise<void> {
  const write = !process.argv.includes('--no-write') && !SMOKE && !INSTALL_ONLY;
  // nginx workers run as nobody: the tree must be world-readable.
  fs.chmodSync(dir, 0o755);
  const www = path.join(dir, 'www');
  fs.mkdirSync(www, { mode: 0o755 });
  fs.writeFileSync(path.join(www, 'small.txt'), crypto.randomBytes(512).toString('hex'), { mode: 0o644 });
  fs.writeFileSync(path.join(www, 'big.bin'), crypto.randomBytes(ASSET_SIZE), { mode: 0o644 });

  const macs = (prefix: string, n: number): string[] =>
    Array.from({ length: n }, (_, i) => `${prefix}:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
  const installedMacs = macs('52:54:b0', MACHINES);
  const alwaysMacs = macs('52:54:b1', SMOKE ? 10_000 : ALWAYS_MACHINES);

  // The real policy over a file-backed registry (WAL, synchronous=NORMAL: the daemon's defaults).
  const registry = openRegistry(path.join(dir, 'registry.db'));
  // As the daemon's registry service does (app.ts): WAL checkpoints on their thread (--no-checkpointer: in the
  // commits, SQLite's default, for comparison).
  // --ckpt-interval=MS / --ckpt-bound=PAGES: the checkpointer's options (checkpoint.ts), for experiments.
  const flag = (name: string): number | undefined => {
    const v = new RegExp(`^--${name}=(\\d+)$`).exec(process.argv.find((a) => a.startsWith(`--${name}=`)) ?? '')?.[1];
    return v === undefined ? undefined : Number(v);
  };
  const ckptInterval = flag('ckpt-interval');
  const ckptBound = flag('ckpt-bound');
  const checkpoints = registry.walCheckpointer({ ...(ckptInterval !== undefined ? { intervalMs: ckptInterval } : {}), ...(ckptBound !== undefined ? { boundPages: ckptBound } : {}) });
  if (!process.argv.includes('--no-checkpointer')) checkpoints.start();
  const hosts = [hostSpec('bench-custom', 'custom')];
  const provisioning = provisioningOf(hosts);
  const s = settings({ serverAddress: HOST });
  const policy = new BootPolicy({ registry, provisioning, settings: s, osProfiles: stubProfiles, logger: silentLogger });
  const admin = new MachineAdmin({ operations: new MachineOperations({ registry, provisioning, installMode: 'once' }), registry, provisioning, policy });
  // force: the entry names its own NIC's MAC; the bench registers many others for it.
  for (const mac of installedMacs) {
    admin.create({ mac, host: 'bench-custom', force: true });
    registry.machineTransition(mac, 'booting', 'bench setup');
    registry.machineTransition(mac, 'installed', 'bench setup');
  }
  registry.atomically(() => {
    for (const mac of alwaysMacs) admin.create({ mac, host: 'bench-custom', installMode: 'always', force: true });
  });
  /**
   * Ends every armed install (booting → installed), as the installer's last phone-home does: in 'always' mode the
   * machine's next fetch then renders a new install (guard.ts holds an armed install until a new DHCP exchange, and
   * remembers only its last 4 096 of those, fewer than the machines one round fetches).
   */
  const finishInstalls = (): void => {
    registry.atomically(() => {
      for (const mac of alwaysMacs) if (registry.machineGet(mac)?.state === 'booting') registry.machineTransition(mac, 'installed', 'bench: install finished');
    });
  };

  // A second, read-only connection counts the mints (the registry's interface has no count).
  const reader = new Database(path.join(dir, 'registry.db'), { readonly: true });
  const tokenCount = (): number => reader.prepare('SELECT count(*) FROM tokens').pluck().get() as number;

  const app = buildHttpApp({ policy, admin, assetRoots: [www], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true, limits: BENCH_LIMITS });
  // The HTTP layer alone: the same app over a policy that returns a constant script (no registry), to show what
  // the HTTP side costs apart from the policy's work.
  // (Not FakePolicy: it keeps every request for assertions, an allocation the reference must not carry.)
  const constantScript: HttpDocument = { contentType: 'text/plain; charset=utf-8', body: '#!ipxe\necho pxed: constant script\nexit\n' };
  // With machineScriptSync, as the daemon's BootPolicy has it: the fast path then answers without a promise.
  const constantPolicy = syncScriptPolicy(() => constantScript);
  const bare = buildHttpApp({ policy: constantPolicy, admin: new FakeAdmin(), assetRoots: [www], ipxeBinRoots: [], adminToken: null, logger: silentLogger, ready: () => true, limits: BENCH_LIMITS });
  let nginx: ChildProcess | null = null;
  try {
    await app.listen({ host: HOST, port: 0 });
    await bare.listen({ host: HOST, port: 0 });
    const barePort = (bare.server.address() as AddressInfo).port;
    const pxedPort = (app.server.address() as AddressInfo).port;
    const nginxPort = await freePort();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(dir, nginxPort));
    nginx = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'nginx-error.log')], { stdio: 'ignore', detached: true });
    await waitForPort(nginxPort, 5000);

    const lua = (name: string, list: string[]): string => {
      const file = path.join(dir, `${name}.lua`);
      fs.writeFileSync(
        file,
        [
          `local macs = { ${list.map((m) => `"${m}"`).join(', ')} }`,
          'local i = 0',
          'request = function()',
          '  i = i + 1',
          '  return wrk.format("GET", "/ipxe/" .. macs[(i % #macs) + 1] .. "?buildarch=x86_64&platform=efi")',
          'end',
          '',
        ].join('\n'),
      );
      return file;
    };
    const installedLua = lua('installed', installedMacs);
    const alwaysLua = path.join(dir, 'always.lua');
    fs.writeFileSync(alwaysLua, installLua(alwaysMacs.length, RAW));

    const nginxSmall = `http://${HOST}:${nginxPort}/small.txt`;
    const pxedBase = `http://${HOST}:${pxedPort}`;
    /** One install-script round: every machine's DHCP exchange first, then wrk; the mints it made and the loop's delay. */
    /** TCP segments retransmitted and packets the kernel's per-CPU backlog dropped, this network namespace. */
    const netCounters = (): { retrans: number; drops: number } => {
      const snmp = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
      const names = snmp[0]!.split(/\s+/);
      const values = snmp[1]!.split(/\s+/);
      const drops = fs.readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n').reduce((a, l) => a + parseInt(l.split(' ')[1]!, 16), 0);
      return { retrans: Number(values[names.indexOf('RetransSegs')]), drops };
    };
    const installRound = async (): Promise<WrkResult & { mints: number; loopP99ms: number; loopMaxms: number }> => {
      finishInstalls();
      const before = tokenCount();
      const h = monitorEventLoopDelay({ resolution: 10 });
      const net0 = netCounters();
      const timeline = TIMELINE ? recordTimeline(app.server, pxedPort) : null;
      // --raw: renders that took long on the event loop (the whole machineScript call), by time in the round.
      const slow: Array<[number, number]> = [];
      const roundStart = performance.now();
      const render = policy.machineScript;
      if (RAW) {
        policy.machineScript = (req) => {
          const t0 = performance.now();
          const doc = render.call(policy, req);
          const dt = performance.now() - t0;
          if (dt > 10) slow.push([t0 - roundStart, dt]);
          return doc;
        };
      }
      const gcs: number[] = [];
      const gcObserver = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) gcs.push(e.duration);
      });
      gcObserver.observe({ entryTypes: ['gc'] });
      h.enable();
      const r = await wrk(pxedBase, WRK_SECONDS, alwaysLua);
      h.disable();
      gcObserver.disconnect();
      if (RAW) {
        policy.machineScript = render;
        console.error(`  renders over 10 ms: ${slow.length}; longest: ${[...slow].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([at, dt]) => `${dt.toFixed(0)} ms at +${at.toFixed(0)}`).join(', ')}`);
      }
      if (timeline !== null) console.error(`  ${await timeline.stop()}`);
      console.error(`  GC during the round: ${gcs.length} pauses, ${gcs.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, longest ${Math.max(0, ...gcs).toFixed(1)} ms, ${gcs.filter((d) => d > 10).length} over 10 ms`);
      const net1 = netCounters();
      console.error(`  TCP segments retransmitted during the round: ${net1.retrans - net0.retrans}; backlog drops: ${net1.drops - net0.drops}`);
      const mints = tokenCount() - before;
      console.error(`  install: ${Math.round(r.rps)} req/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms; ${r.requests} requests, ${mints} mints; loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`);
      if (mints < r.requests * 0.95) throw new Error(`only ${mints} of ${r.requests} requests minted: the bench measured re-serves or refusals`);
      return { ...r, mints, loopP99ms: h.percentile(99) / 1e6, loopMaxms: h.max / 1e6 };
    };
    const check = await fetch(`${pxedBase}/ipxe/${installedMacs[0]}?buildarch=x86_64&platform=efi`);
    const body = await check.text();
    if (!body.startsWith('#!ipxe\n') || !/\nexit/.test(body)) throw new Error(`unexpected local-boot script:\n${body}`);
    const check2 = await (await fetch(`${pxedBase}/ipxe/${alwaysMacs[0]}?buildarch=x86_64&platform=efi`)).text();
    if (!/kernel /.test(check2)) throw new Error(`unexpected install script:\n${check2}`);

    console.error('warm-up...');
    await wrk(nginxSmall, SMOKE ? 1 : 2);
    await wrk(pxedBase, SMOKE ? 1 : 2, installedLua);

    // The machine is shared (other work may run at the same time): nginx and pxed alternate, ROUNDS times each,
    // and each figure is the median of its rounds.
    const rNginxAll: WrkResult[] = [];
    const rLocalAll: WrkResult[] = [];
    const rInstallAll: Array<Awaited<ReturnType<typeof installRound>>> = [];
    const rBareAll: WrkResult[] = [];
    const tNginxAll: Array<Awaited<ReturnType<typeof curlThroughput>>> = [];
    const tPxedAll: Array<Awaited<ReturnType<typeof curlThroughput>>> = [];
    if (INSTALL_ONLY) {
      for (let round = 1; round <= ROUNDS; round++) {
        const n = await wrk(nginxSmall, WRK_SECONDS);
        console.error(`round ${round}/${ROUNDS}: nginx ${Math.round(n.rps)} req/s, p50 ${n.p50ms} ms, p99 ${n.p99ms} ms`);
        rNginxAll.push(n);
        rInstallAll.push(await installRound());
      }
      const mid = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      console.log(
        `install-only, medians of ${ROUNDS}: nginx ${Math.round(mid(rNginxAll.map((r) => r.rps)))} req/s; install ${Math.round(mid(rInstallAll.map((r) => r.rps)))} req/s ` +
          `(×${(mid(rInstallAll.map((r) => r.rps)) / mid(rNginxAll.map((r) => r.rps))).toFixed(2)}), p50 ${mid(rInstallAll.map((r) => r.p50ms))} ms, p99 ${mid(rInstallAll.map((r) => r.p99ms))} ms, ` +
          `loop delay p99 ${mid(rInstallAll.map((r) => r.loopP99ms)).toFixed(1)} ms; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
      );
      return;
    }
    for (let round = 1; round <= ROUNDS; round++) {
      console.error(`round ${round}/${ROUNDS}: wrk nginx, pxed local-boot, pxed install, HTTP layer alone; curl nginx, pxed`);
      rNginxAll.push(await wrk(nginxSmall, WRK_SECONDS));
      rLocalAll.push(await wrk(pxedBase, WRK_SECONDS, installedLua));
      rInstallAll.push(await installRound());
      rBareAll.push(await wrk(`http://${HOST}:${barePort}`, WRK_SECONDS, installedLua));
      tNginxAll.push(await curlThroughput(`http://${HOST}:${nginxPort}/big.bin`));
      tPxedAll.push(await curlThroughput(`${pxedBase}/assets/big.bin`));
    }
    const median = <T>(xs: T[], key: (x: T) => number): T => [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;
    const rNginx = median(rNginxAll, (r) => r.rps);
    const rLocal = median(rLocalAll, (r) => r.rps);
    const rInstall = median(rInstallAll, (r) => r.rps);
    const rBare = median(rBareAll, (r) => r.rps);
    const tNginx = median(tNginxAll, (t) => t.mbps);
    const tPxed = median(tPxedAll, (t) => t.mbps);
    const load = os.loadavg()[0]!.toFixed(1);

    const ratio = (a: number, b: number): string => (a / b).toFixed(2);
    const f = (n: number): string => Math.round(n).toLocaleString('en-US');
    const ms = (n: number): string => `${n.toFixed(2)} ms`;
    const reqRatio = rLocal.rps / rNginx.rps;
    const mbRatio = tPxed.mbps / tNginx.mbps;
    const section = [
      '## HTTP',
      '',
      `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machineInfo()}.`,
      'Both servers on 127.0.0.1 in one run, sharing the 2 cores with the load generator (compare only within a run).',
      `The two servers alternate, ${ROUNDS} rounds each; figures are medians of the rounds (1-min load average at the end: ${load}).`,
      'nginx-light: `worker_processes 1; sendfile on; tcp_nopush on; access_log off; keepalive_requests 100000;`.',
      `pxed: \`buildHttpApp\` over the real \`BootPolicy\` + \`MachineAdmin\` and a file-backed SQLite registry (WAL,`,
      `synchronous=NORMAL); every script request is a registry lookup (machineGet's read cache, checked against SQLite's`,
      '`data_version`), a render, and a timeline event (identical state-free fetches within 2 s fold into one). MACs rotate over',
      `${MACHINES} machines per variant. Small responses: \`wrk -t2 -c64 -d${WRK_SECONDS}s --latency\` after a 2 s warm-up.`,
      `Large: ${CURLS} parallel \`curl\`s, each fetching the 64 MiB asset ${FETCHES_PER_CURL} times (1 MB = 10^6 bytes).`,
      '',
      '| what | req/s | p50 | p99 | vs nginx |',
      '|---|---:|---:|---:|---:|',
      `| nginx, static 1 KiB file | ${f(rNginx.rps)} | ${ms(rNginx.p50ms)} | ${ms(rNginx.p99ms)} | 1.00 |`,
      `| pxed \`GET /ipxe/:mac\`, installed machine (local-boot script) | ${f(rLocal.rps)} | ${ms(rLocal.p50ms)} | ${ms(rLocal.p99ms)} | ${ratio(rLocal.rps, rNginx.rps)} |`,
      `| pxed \`GET /ipxe/:mac\`, 'always' machine (install script: token minted, state written) | ${f(rInstall.rps)} | ${ms(rInstall.p50ms)} | ${ms(rInstall.p99ms)} | ${ratio(rInstall.rps, rNginx.rps)} |`,
      `| for reference: the HTTP layer alone, \`GET /ipxe/:mac\` over a constant-script fake policy (no registry) | ${f(rBare.rps)} | ${ms(rBare.p50ms)} | ${ms(rBare.p99ms)} | ${ratio(rBare.rps, rNginx.rps)} |`,
      '',
      '| 64 MiB asset | MB/s | seconds for 1 GiB | vs nginx |',
      '|---|---:|---:|---:|',
      `| nginx (sendfile) | ${f(tNginx.mbps)} | ${tNginx.seconds.toFixed(2)} | 1.00 |`,
      `| pxed \`/assets/\` (pooled 512 KiB read/write loop) | ${f(tPxed.mbps)} | ${tPxed.seconds.toFixed(2)} | ${ratio(tPxed.mbps, tNginx.mbps)} |`,
      '',
      `Targets: ≥ 0.5× nginx req/s (${reqRatio >= 0.5 ? 'met' : 'NOT met'}: ${reqRatio.toFixed(2)}× for the local-boot script); ` +
        `≥ 0.8× nginx MB/s (${mbRatio >= 0.8 ? 'met' : 'NOT met'}: ${mbRatio.toFixed(2)}×).`,
      `All rounds, req/s: nginx ${rNginxAll.map((r) => f(r.rps)).join(' / ')}; local-boot ${rLocalAll.map((r) => f(r.rps)).join(' / ')}; ` +
        `install ${rInstallAll.map((r) => f(r.rps)).join(' / ')}; HTTP layer alone ${rBareAll.map((r) => f(r.rps)).join(' / ')}. MB/s: nginx ${tNginxAll.map((t) => f(t.mbps)).join(' / ')}; pxed ${tPxedAll.map((t) => f(t.mbps)).join(' / ')}.`,
      ...[...rNginxAll, ...rLocalAll, ...rInstallAll, ...rBareAll].filter((r) => r.errors !== '').map((r) => `wrk reported: ${r.errors}`),
      '',
    ].join('\n');
    console.log(section);
    if (write) writeSection(section);
  } finally {
    if (nginx?.pid !== undefined) {
      try {
        process.kill(-nginx.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await app.close();
    await bare.close();
    reader.close();
    console.error(`checkpoints: ${JSON.stringify(checkpoints.snapshot())}`);
    await checkpoints.stop();
    registry.close();
  }
}

/** Runs the benchmark in a fresh temp dir that is removed whatever happens. */
async function inTempDir(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-bench-http-'));
  try {
    await main(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

inTempDir().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
