// Who holds a port: /proc/net/{tcp,tcp6,udp,udp6} list sockets with their local port and inode (proc(5));
// /proc/<pid>/fd/* links read `socket:[<inode>]`. Another user's fds are unreadable without root: the owner is
// then reported as unknown, never guessed.

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { formatIpv4 } from '../net/ipv4.js';

export interface PortHolder {
  proto: 'tcp' | 'udp';
  /** Local address as the kernel lists it (IPv4 dotted or IPv6 hex). */
  address: string;
  port: number;
  inode: number;
  pid: number | null;
  command: string | null;
}

/** TCP_LISTEN in /proc/net/tcp's `st` column; UDP sockets have no listen state and are all listed. */
const TCP_LISTEN = '0A';

/** /proc/net prints an IPv4 address as the 32-bit word in memory (network order), in hex on a little-endian host. */
function ipv4(hex: string): string {
  return formatIpv4(Buffer.from(hex, 'hex').readUInt32LE(0));
}

/** Parses one /proc/net table; rows for `port` only (TCP: listening sockets only). */
export function parseProcNet(text: string, proto: 'tcp' | 'udp', port: number): Omit<PortHolder, 'pid' | 'command'>[] {
  const out: Omit<PortHolder, 'pid' | 'command'>[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [addr, portHex] = f[1]!.split(':');
    if (addr === undefined || portHex === undefined || parseInt(portHex, 16) !== port) continue;
    if (proto === 'tcp' && f[3] !== TCP_LISTEN) continue;
    out.push({ proto, address: /^[0-9A-Fa-f]{8}$/.test(addr) ? ipv4(addr) : addr, port, inode: Number(f[9]) });
  }
  return out;
}

function socketOwners(inodes: Set<number>, procRoot: string): Map<number, { pid: number; command: string }> {
  const owners = new Map<number, { pid: number; command: string }>();
  if (inodes.size === 0) return owners;
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return owners;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m === null || !inodes.has(Number(m[1]))) continue;
      let command = '?';
      try {
        command = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
      } catch {
        // process gone
      }
      owners.set(Number(m[1]), { pid: Number(pid), command });
    }
  }
  return owners;
}

/** Every socket bound to `port` for `proto`, with its owner when we may see it. */
export function portHolders(proto: 'tcp' | 'udp', port: number, procRoot = '/proc'): PortHolder[] {
  const rows: Omit<PortHolder, 'pid' | 'command'>[] = [];
  for (const table of [proto, `${proto}6`]) {
    try {
      rows.push(...parseProcNet(readFileSync(`${procRoot}/net/${table}`, 'utf8'), proto, port));
    } catch {
      // no IPv6, or no /proc/net
    }
  }
  const owners = socketOwners(new Set(rows.map((r) => r.inode)), procRoot);
  return rows.map((r) => ({ ...r, pid: owners.get(r.inode)?.pid ?? null, command: owners.get(r.inode)?.command ?? null }));
}

/** CAP_NET_BIND_SERVICE (bit 10) in our effective set, from /proc/self/status (capabilities(7)). */
export function canBindLowPorts(procRoot = '/proc'): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`${procRoot}/self/status`, 'utf8'));
    if (m !== null && (BigInt('0x' + m[1]!) & (1n << 10n)) !== 0n) return true;
    const start = Number(readFileSync(`${procRoot}/sys/net/ipv4/ip_unprivileged_port_start`, 'utf8').trim());
    return Number.isFinite(start) && start <= 67;
  } catch {
    return false;
  }
}
