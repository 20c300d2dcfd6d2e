// The boot-storm LAN: two network namespaces this code creates (server side, machines side) joined by a shaped link,
// and nothing else. The machines' namespace carries one address per simulated machine on its one interface.
//
//   ns srv  eth0 10.88.0.2/16 (+ .3 for a reference server)  <== shaped link ==>  ns cli  eth0 10.88.1.0/16 ... (N)
//
// Shaping: `tc qdisc … netem loss L% delay D jitter J` on both ends when the kernel has sch_netem; otherwise (this CI
// kernel has no modules: no netem) the two ends are TAP devices joined by test/storm/lossy-bridge.c, compiled here
// into test/.cache/storm/ and run inside ns srv (same loss, delay and jitter, both directions).
// Checksum offload is off on veths (docs/protocol.md §11 item 1). destroy() ends every process started here and
// deletes both namespaces; it is idempotent.

import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Netns, sh, vethPair } from '../helpers/netns.js';
import { cacheDir, repoRoot } from '../helpers/paths.js';

export const STORM_NET = { server: '10.88.0.2', reference: '10.88.0.3', prefix: 16 } as const;

/** The address of simulated machine i (0-based): 10.88.1.0 upwards, up to 10.88.250.255. */
export function machineAddress(i: number): string {
  const n = 256 + i;
  if (n >= 251 * 256) throw new Error(`machine index ${i} is outside the storm LAN`);
  return `10.88.${n >> 8}.${n & 255}`;
}

export interface Shaping {
  lossPercent: number;
  delayMs: number;
  jitterMs: number;
  seed: number;
}

export interface LinkCounters {
  frames: number;
  forwarded: number;
  dropped: number;
  overflow: number;
}

/** Compiles the bridge once per source version into test/.cache/storm/. */
export function bridgeBinary(): string {
  const src = path.join(repoRoot, 'test', 'storm', 'lossy-bridge.c');
  const dir = path.join(cacheDir, 'storm');
  fs.mkdirSync(dir, { recursive: true });
  const bin = path.join(dir, 'lossy-bridge');
  if (!fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs) {
    sh('gcc', ['-O2', '-Wall', '-o', `${bin}.tmp`, src]);
    fs.renameSync(`${bin}.tmp`, bin);
  }
  return bin;
}

export class StormNet {
  readonly srv: Netns;
  readonly cli: Netns;
  /** 'netem' or 'tap-bridge'. */
  method = '';
  private bridge: ChildProcess | null = null;
  private bridgeOut = '';
  private destroyed = false;

  private constructor() {
    this.srv = new Netns('sts');
    try {
      this.cli = new Netns('stc');
    } catch (err) {
      void this.srv.destroy();
      throw err;
    }
  }

  /** Builds the LAN with `machines` client addresses; on any failure everything is removed again. */
  static async create(machines: number, shaping: Shaping): Promise<StormNet> {
    const net = new StormNet();
    try {
      await net.build(machines, shaping);
      return net;
    } catch (err) {
      await net.destroy();
      throw err;
    }
  }

  private async build(machines: number, s: Shaping): Promise<void> {
    const { srv, cli } = this;
    const p = STORM_NET.prefix;
    vethPair(srv, 'eth0', null, cli, 'eth0', null);
    const netem = (ns: Netns): boolean => {
      const args = ['qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'loss', `${s.lossPercent}%`];
      if (s.delayMs > 0) args.push('delay', `${s.delayMs}ms`, `${s.jitterMs}ms`);
      return ns.exec('tc', args, { allowFail: true }) !== '' || /netem/.test(ns.exec('tc', ['qdisc', 'show', 'dev', 'eth0'], { allowFail: true }));
    };
    if (netem(srv) && netem(cli)) {
      this.method = 'netem';
    } else {
      // No sch_netem: TAPs joined by the C bridge (created in srv, one moved to cli once the bridge holds both).
      srv.ip('link', 'del', 'eth0');
      const bridge = srv.spawn(bridgeBinary(), ['sb0', 'sb1', String(s.lossPercent), String(Math.round(s.delayMs * 1000)), String(Math.round(s.jitterMs * 1000)), String(s.seed)]);
      this.bridge = bridge;
      bridge.stdout!.on('data', (b: Buffer) => (this.bridgeOut += b.toString()));
      bridge.stderr!.resume();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('lossy bridge did not start')), 10_000);
        const check = (): void => {
          if (this.bridgeOut.includes('ready')) {
            clearTimeout(t);
            resolve();
          }
        };
        bridge.stdout!.on('data', check);
        bridge.once('exit', (code) => {
          clearTimeout(t);
          reject(new Error(`lossy bridge exited ${code}`));
        });
      });
      srv.ip('link', 'set', 'sb0', 'name', 'eth0');
      srv.ip('link', 'set', 'sb1', 'netns', cli.name);
      cli.ip('link', 'set', 'sb1', 'name', 'eth0');
      this.method = 'tap-bridge';
    }
    srv.ip('addr', 'add', `${STORM_NET.server}/${p}`, 'dev', 'eth0');
    srv.ip('addr', 'add', `${STORM_NET.reference}/${p}`, 'dev', 'eth0');
    // One batch for all client addresses (`ip -batch`): a thousand `ip` processes would take seconds.
    const lines = Array.from({ length: machines }, (_, i) => `addr add ${machineAddress(i)}/${p} dev eth0`);
    sh('ip', ['-n', cli.name, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    srv.ip('link', 'set', 'eth0', 'up');
    cli.ip('link', 'set', 'eth0', 'up');
    // A default route makes 255.255.255.255 routable for the machines' DHCP broadcasts.
    cli.ip('route', 'add', 'default', 'dev', 'eth0');
    srv.ip('route', 'add', 'default', 'dev', 'eth0');
    // Many neighbours on one segment: room for all of them (the defaults start garbage-collecting at 128).
    for (const ns of [srv, cli]) {
      ns.exec('sysctl', ['-qw', 'net.ipv4.neigh.default.gc_thresh1=4096', 'net.ipv4.neigh.default.gc_thresh2=8192', 'net.ipv4.neigh.default.gc_thresh3=16384'], { allowFail: true });
    }
  }

  /** The bridge's counters (stops it); null with netem. Call only when the storm is over. */
  async linkCounters(): Promise<LinkCounters | null> {
    const b = this.bridge;
    if (!b || b.exitCode !== null) return null;
    const exited = new Promise<void>((resolve) => b.once('exit', () => resolve()));
    process.kill(b.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    const line = this.bridgeOut.split('\n').find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as LinkCounters) : null;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.cli.destroy();
    await this.srv.destroy();
  }
}
