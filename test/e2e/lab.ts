// The netboot lab (docs/protocol.md §11): a LAN made of network namespaces that this test creates, and nothing else.
//
//   ns router  eth0 10.77.0.1/24 + fd77:e2e::1/64   ordinary LAN DHCP (dnsmasq: a range, option 3, NO PXE options,
//      | veth                                         IPv6 router advertisements only, no-ping)
//   ns net     br0 (no IP) --- tap0 --- QEMU guest    tcpdump on the guest's tap
//      | veth
//   ns server  eth0 10.77.0.2/24                      the PXE server under test (UDP 67, 4011, 69; TCP HTTP)
//
// With `relay: true` a fourth namespace routes a second LAN (br1/tap1 in ns net, 10.78.0.0/24) to the first one and
// runs isc-dhcp-relay towards both the router and the server (giaddr path); a dnsmasq there sends RAs on the far LAN.
// Checksum offload is off on every veth (docs/protocol.md §11 item 1). Teardown is idempotent and also runs on SIGINT/SIGTERM.

import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { killGroup, Netns, vethPair, waitFor } from '../helpers/netns.js';

export const LAN = {
  router: '10.77.0.1',
  server: '10.77.0.2',
  relay: '10.77.0.3',
  prefix: 24,
  routerV6: 'fd77:e2e::1',
  far: { net: '10.78.0.0/24', relay: '10.78.0.1', routerV6: 'fd78:e2e::1' },
} as const;

export interface LabOptions {
  /** Where logs and the capture go; the caller keeps or removes it. */
  artifacts: string;
  relay?: boolean;
  /**
   * siaddr ("next server") the LAN router's DHCP hands out (dnsmasq --dhcp-boot with no file name): GRUB's network
   * stack takes its TFTP server from the LAN ACK, not from the proxy offer (docs/secure-boot.md).
   */
  lanNextServer?: string;
}

/** Labs alive in this process, torn down on SIGINT/SIGTERM so an interrupted run leaves nothing behind. */
const live = new Set<Lab>();
let signalsInstalled = false;

function installSignalCleanup(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  const onSignal = (sig: NodeJS.Signals): void => {
    const all = [...live];
    void Promise.allSettled(all.map((lab) => lab.destroy())).then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** A process started by the lab with its output appended to a log file. */
export interface LabProcess {
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

export class Lab {
  readonly router: Netns;
  readonly net: Netns;
  readonly server: Netns;
  readonly relay: Netns | null;
  readonly artifacts: string;
  /** The tap QEMU should attach to ('tap0' on the main LAN, 'tap1' behind the relay). */
  readonly guestTap: string;
  private readonly namespaces: Netns[];
  private destroyed = false;
  private readonly lanNextServer: string | null;

  private constructor(opts: LabOptions, namespaces: Netns[]) {
    this.artifacts = opts.artifacts;
    this.namespaces = namespaces;
    [this.router, this.net, this.server] = namespaces as [Netns, Netns, Netns];
    this.relay = namespaces[3] ?? null;
    this.guestTap = this.relay ? 'tap1' : 'tap0';
    this.lanNextServer = opts.lanNextServer ?? null;
  }

  /** Builds the topology and starts the router's dnsmasq (and the relay). On any failure everything is removed. */
  static async create(opts: LabOptions): Promise<Lab> {
    installSignalCleanup();
    fs.mkdirSync(opts.artifacts, { recursive: true });
    const namespaces: Netns[] = [];
    let lab: Lab | null = null;
    try {
      namespaces.push(new Netns('e2r'), new Netns('e2n'), new Netns('e2s'));
      if (opts.relay) namespaces.push(new Netns('e2l'));
      lab = new Lab(opts, namespaces);
      live.add(lab);
      await lab.build();
      return lab;
    } catch (err) {
      if (lab) await lab.destroy();
      else await Promise.allSettled(namespaces.map((ns) => ns.destroy()));
      throw err;
    }
  }

  private bridge(name: string): void {
    this.net.ip('link', 'add', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0', 'mcast_snooping', '0');
    this.net.ip('link', 'set', name, 'up');
  }

  private tap(name: string, bridge: string): void {
    this.net.ip('tuntap', 'add', 'dev', name, 'mode', 'tap');
    this.net.ip('link', 'set', name, 'master', bridge);
    this.net.ip('link', 'set', name, 'up');
  }

  private async build(): Promise<void> {
    const { router, net, server } = this;
    const p = LAN.prefix;
    this.bridge('br0');
    vethPair(router, 'eth0', `${LAN.router}/${p}`, net, 'vr0', null);
    vethPair(server, 'eth0', `${LAN.server}/${p}`, net, 'vs0', null);
    net.ip('link', 'set', 'vr0', 'master', 'br0');
    net.ip('link', 'set', 'vs0', 'master', 'br0');
    this.tap('tap0', 'br0');
    router.ip('-6', 'addr', 'add', `${LAN.routerV6}/64`, 'dev', 'eth0', 'nodad');
    // A default route makes 255.255.255.255 routable for servers that do not bind to a device.
    server.ip('route', 'add', 'default', 'via', LAN.router);

    const routerArgs = [
      '-k',
      '-C',
      '/dev/null',
      '--port=0',
      '--interface=eth0',
      '--bind-interfaces',
      `--dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,10m`,
      `--dhcp-option=3,${LAN.router}`,
      '--enable-ra',
      `--dhcp-range=${LAN.routerV6.replace(/1$/, '')},ra-only`,
      '--no-ping',
      `--dhcp-leasefile=${path.join(this.artifacts, 'router.leases')}`,
      '--pid-file=',
      '--log-dhcp',
      '--log-facility=-',
      ...(this.lanNextServer !== null ? [`--dhcp-boot=,,${this.lanNextServer}`] : []),
    ];

    if (this.relay) {
      const relay = this.relay;
      this.bridge('br1');
      vethPair(relay, 'eth0', `${LAN.relay}/${p}`, net, 'vl0', null);
      vethPair(relay, 'eth1', `${LAN.far.relay}/24`, net, 'vl1', null);
      net.ip('link', 'set', 'vl0', 'master', 'br0');
      net.ip('link', 'set', 'vl1', 'master', 'br1');
      this.tap('tap1', 'br1');
      relay.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      relay.ip('-6', 'addr', 'add', `${LAN.far.routerV6}/64`, 'dev', 'eth1', 'nodad');
      router.ip('route', 'add', LAN.far.net, 'via', LAN.relay);
      server.ip('route', 'add', LAN.far.net, 'via', LAN.relay);
      routerArgs.push(
        '--dhcp-range=set:far,10.78.0.100,10.78.0.199,255.255.255.0,10m',
        `--dhcp-option=tag:far,3,${LAN.far.relay}`,
      );
    }

    const routerProc = this.spawn(router, 'router-dnsmasq', 'dnsmasq', routerArgs);
    await this.waitForLog(routerProc, /started, version|DHCP, IP range/, 'router dnsmasq');

    if (this.relay) {
      const relayProc = this.spawn(this.relay, 'relay-dhcrelay', 'dhcrelay', [
        '-4',
        '-d',
        '-pf',
        path.join(this.artifacts, 'dhcrelay.pid'),
        '-id',
        'eth1',
        '-iu',
        'eth0',
        LAN.router,
        LAN.server,
      ]);
      await this.waitForLog(relayProc, /Sending on|Listening on/, 'dhcrelay');
      const raProc = this.spawn(this.relay, 'relay-ra', 'dnsmasq', [
        '-k',
        '-C',
        '/dev/null',
        '--port=0',
        '--interface=eth1',
        '--bind-interfaces',
        '--enable-ra',
        `--dhcp-range=${LAN.far.routerV6.replace(/1$/, '')},ra-only`,
        '--pid-file=',
        '--log-facility=-',
      ]);
      await this.waitForLog(raProc, /started, version/, 'relay RA dnsmasq');
    }
  }

  /** Starts a long-running process in `ns`, output appended to <artifacts>/<name>.log. */
  spawn(ns: Netns, name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): LabProcess {
    const log = path.join(this.artifacts, `${name}.log`);
    const fd = fs.openSync(log, 'a');
    const child = ns.spawn(cmd, args, { stdio: ['ignore', fd, fd], ...(env ? { env } : {}) });
    fs.closeSync(fd);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(null));
    });
    return { child, log, exited };
  }

  /** Waits (bounded) until the process's log matches `re`; throws if it exits first. */
  async waitForLog(proc: LabProcess, re: RegExp, what: string, timeoutMs = 10_000): Promise<void> {
    let exitCode: number | null | undefined;
    void proc.exited.then((c) => (exitCode = c));
    await waitFor(
      what,
      () => {
        if (exitCode !== undefined) throw new Error(`${what} exited with ${exitCode}: ${readTail(proc.log)}`);
        return re.test(readTail(proc.log));
      },
      timeoutMs,
    );
  }

  /** Starts tcpdump on `iface` (default: the guest's tap) in ns net; resolves once it is listening. */
  async capture(file: string, iface = this.guestTap): Promise<LabProcess> {
    const proc = this.spawn(this.net, `tcpdump-${iface}`, 'tcpdump', [
      '-i',
      iface,
      '-n',
      '--immediate-mode', // docs/protocol.md §11 item 3: otherwise the last packets are lost when it stops right after QEMU
      '-U',
      '-Z',
      'root',
      '-s',
      '0',
      '-w',
      file,
    ]);
    await this.waitForLog(proc, /listening on/, 'tcpdump');
    return proc;
  }

  /** Stops a process started by spawn() (SIGTERM to its group, SIGKILL after a grace period). */
  async stop(proc: LabProcess): Promise<void> {
    await killGroup(proc.child);
  }

  /** Kills every process and deletes every namespace; safe to call more than once. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    // Reverse order: relay, server, net, router; a failing step does not stop the others.
    for (const ns of [...this.namespaces].reverse()) {
      try {
        await ns.destroy();
      } catch {
        /* keep going */
      }
    }
  }
}

export function readTail(file: string, bytes = 64 * 1024): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, bytes);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}
