// The DHCP test lab (docs/protocol.md §11 item 4), all inside namespaces this test creates:
//   router ns: eth0 10.77.0.1/24, dnsmasq as the LAN's ordinary DHCP (no PXE options, no-ping)
//   net ns:    br0 bridging the other three
//   server ns: eth0 10.77.0.2/24, pxed's DhcpService in a child process (helpers/responder.js)
//   client ns: eth0 (10.77.0.9/24 unless told otherwise): udhcpc, tcpdump and the raw client
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { killGroup, Netns, vethPair, waitFor } from '../../helpers/netns.js';
import { readPcap, udpRecords, type UdpRecord } from '../../helpers/pcap.js';
import type { RunnerConfig } from './responder.js';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const RESPONDER = path.join(here, 'responder.js');
export const RAWCLIENT = path.join(here, 'rawclient.js');

export interface Lab {
  net: Netns;
  router: Netns;
  server: Netns;
  client: Netns;
  dir: string;
  destroy(): Promise<void>;
}

export function makeLab(opts: { clientCidr?: string | null } = {}): Lab {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-dhcp-'));
  fs.chmodSync(dir, 0o755);
  const made: Netns[] = [];
  try {
    const net = new Netns('pdn');
    made.push(net);
    net.ip('link', 'add', 'br0', 'type', 'bridge');
    net.ip('link', 'set', 'br0', 'up');
    const router = new Netns('pdr');
    made.push(router);
    const server = new Netns('pds');
    made.push(server);
    const client = new Netns('pdc');
    made.push(client);
    const cidr = opts.clientCidr === undefined ? '10.77.0.9/24' : opts.clientCidr;
    for (const [ns, port, addr] of [[router, 'r0', '10.77.0.1/24'], [server, 's0', '10.77.0.2/24'], [client, 'c0', cidr]] as const) {
      vethPair(ns, 'eth0', addr, net, port, null);
      net.ip('link', 'set', port, 'master', 'br0');
    }
    // A default route lets the client's 255.255.255.255 sends through: without a route Linux refuses a send to 255.255.255.255 (ENETUNREACH).
    if (cidr) client.ip('route', 'add', 'default', 'dev', 'eth0');
    return {
      net, router, server, client, dir,
      async destroy() {
        for (const ns of [client, server, router, net]) await ns.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const ns of made) void ns.destroy();
    throw err;
  }
}

/** dnsmasq as the ordinary LAN DHCP server in the router namespace: a range, option 3, no PXE options, no-ping. */
export async function startLanDhcp(lab: Lab, extra: string[] = []): Promise<ChildProcess> {
  const child = lab.router.spawn('dnsmasq', [
    '-k', '-C', '/dev/null', '--port=0', '--log-facility=-', '--user=root',
    '--interface=eth0', '--bind-interfaces', '--no-ping',
    '--dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,1h', '--dhcp-option=3,10.77.0.1',
    `--dhcp-leasefile=${lab.dir}/lan.leases`, '--pid-file',
    ...extra,
  ]);
  child.stderr?.resume();
  child.stdout?.resume();
  await waitFor('dnsmasq bound to :67', () => lab.router.exec('ss', ['-lun'], { allowFail: true }).includes(':67 '), 5000);
  return child;
}

export type Event = Record<string, unknown> & { ev: string };

export interface Responder {
  child: ChildProcess;
  events: Event[];
  stderr: string[];
  wait(what: string, pred: (e: Event) => boolean, timeoutMs?: number): Promise<Event>;
  stop(): Promise<void>;
}

/** Starts helpers/responder.js in `ns`; resolves once it printed ready (or error, when allowError). */
export async function startResponder(ns: Netns, cfg: RunnerConfig, allowError = false): Promise<Responder> {
  const child = ns.spawn(process.execPath, [RESPONDER, JSON.stringify(cfg)]);
  const events: Event[] = [];
  const stderr: string[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        events.push(JSON.parse(line) as Event);
      } catch {
        stderr.push(`stdout: ${line}`);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => stderr.push(d));
  const r: Responder = {
    child,
    events,
    stderr,
    async wait(what, pred, timeoutMs = 5000) {
      let hit: Event | undefined;
      await waitFor(what, () => (hit = events.find(pred)) !== undefined, timeoutMs, 20);
      return hit!;
    },
    stop: () => killGroup(child),
  };
  const first = await r.wait('responder ready', (e) => e.ev === 'ready' || e.ev === 'error', 10_000).catch((err: unknown) => {
    throw new Error(`${String(err)}; stderr: ${stderr.join('')}`);
  });
  if (first.ev === 'error' && !allowError) throw new Error(`responder failed: ${JSON.stringify(first)} ${stderr.join('')}`);
  return r;
}

/** A captured UDP datagram (test/helpers/pcap.ts). */
export type Captured = UdpRecord;

export interface Capture {
  file: string;
  stop(): Promise<Captured[]>;
}

/** tcpdump -w in `ns` on `iface` (DHCP ports), immediate mode so nothing is lost when it stops. */
export async function capture(ns: Netns, iface: string, file: string): Promise<Capture> {
  const child = ns.spawn('tcpdump', ['-i', iface, '-n', '-U', '--immediate-mode', '-w', file, 'udp and (port 67 or port 68 or port 4011)']);
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  await waitFor(`tcpdump on ${iface}`, () => err.includes('listening on'), 5000);
  return {
    file,
    async stop() {
      await new Promise((r) => setTimeout(r, 200));
      await killGroup(child);
      // tcpdump killed before it wrote the file header: nothing was captured.
      return fs.existsSync(file) && fs.statSync(file).size >= 24 ? udpRecords(readPcap(file)) : [];
    },
  };
}

/** Sets the client's MAC (link down, address, up). */
export function setMac(ns: Netns, iface: string, mac: string): void {
  ns.ip('link', 'set', iface, 'down');
  ns.ip('link', 'set', iface, 'address', mac);
  ns.ip('link', 'set', iface, 'up');
}

export interface RawClientConfig {
  bind: { address: string; port: number };
  send?: { to: string; port: number; hex: string }[];
  /** Pause between the fuzz stream and the send list. */
  settleMs?: number;
  /** Send the list this many times, 500 ms apart (like a client retransmitting). */
  repeat?: number;
  /** How long to listen after the last send. */
  listenMs: number;
  /** Fuzz mode: send `count` mutated/random packets built from seeds, to each target in turn, then the `send` list. */
  fuzz?: { count: number; seedsHex: string[]; targets: { to: string; port: number }[]; seed: number; maxMs: number };
}

export interface RawReply {
  from: string;
  port: number;
  payload: Buffer;
}

/** Runs helpers/rawclient.js inside `ns` and returns what it received. */
export async function rawClient(ns: Netns, cfg: RawClientConfig): Promise<{ replies: RawReply[]; info: Record<string, unknown> }> {
  // Asynchronous, so the responder's stdout keeps draining while the client runs.
  const { stdout: out } = await execFileP('ip', ['netns', 'exec', ns.name, process.execPath, RAWCLIENT, JSON.stringify(cfg)], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  const replies: RawReply[] = [];
  let info: Record<string, unknown> = {};
  for (const line of out.split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { ev: string; from: string; port: number; hex: string };
    if (o.ev === 'rx') replies.push({ from: o.from, port: o.port, payload: Buffer.from(o.hex, 'hex') });
    else info = o;
  }
  return { replies, info };
}

/** Runs a command inside `ns` without blocking the event loop; never throws (returns the exit code). */
export async function execIn(ns: Netns, cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP('ip', ['netns', 'exec', ns.name, cmd, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** busybox udhcpc sending a PXE-flavoured DISCOVER (vendor class + option 93 as hex), exits after the lease. */
export function udhcpc(ns: Netns, opts: { vendor?: string; arch?: number; extra?: string[] } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['udhcpc', '-i', 'eth0', '-n', '-q', '-t', '2', '-T', '1', '-A', '1', '-s', '/bin/true', '-O', 'bootfile'];
  if (opts.vendor !== undefined) args.push('-V', opts.vendor);
  if (opts.arch !== undefined) args.push('-x', `0x5d:${opts.arch.toString(16).padStart(4, '0')}`);
  return execIn(ns, 'busybox', [...args, ...(opts.extra ?? [])], 20_000);
}
