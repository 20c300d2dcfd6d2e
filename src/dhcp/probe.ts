// Who answers DHCP on this segment? Sends one DISCOVER from <address>:68 and collects every OFFER for it for a
// bounded time. Used by full DHCP mode before it binds :67 (refuse to start beside another address server) and by
// `pxed doctor` (which proxy or DHCP server hands PXE clients which boot file). Binds UDP 68 and broadcasts: run it
// only on the provisioning LAN (tests: inside a network namespace).

import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { PxedError } from '../errors.js';
import {
  BOOTREPLY,
  BOOTREQUEST,
  decode,
  encode,
  FLAG_BROADCAST,
  getOption,
  messageType,
  MSG,
  OPT,
  serverId,
  vendorClass,
  type DhcpOption,
  type DhcpPacket,
} from './codec.js';

export interface ProbeOptions {
  /** Our address on the interface to probe from (the DISCOVER's source; replies are heard on 0.0.0.0:68). */
  address: string;
  /** Send a PXE DISCOVER (option 60 "PXEClient:Arch:00007", 93 = 7, 97) so proxies answer too (default true). */
  pxe?: boolean;
  /** How long to listen, ms (default 3500: dnsmasq may ping-check for 3 s before it offers). */
  timeoutMs?: number;
  /** Stop early once this returns true for an answer (e.g. "any address offer"). */
  until?: (answer: ProbeAnswer) => boolean;
  /** Ports (tests): server 67, client 68. */
  serverPort?: number;
  clientPort?: number;
}

/** One server's OFFER, reduced to what tells who it is and what it boots. */
export interface ProbeAnswer {
  /** Option 54, else the datagram's source address. */
  server: string;
  /** Source address:port of the datagram. */
  from: string;
  /** Offered address; '0.0.0.0' from a proxy DHCP server. */
  yiaddr: string;
  /** siaddr (next-server). */
  nextServer: string;
  /** Option 66 (TFTP server name), null when absent. */
  tftpServer: string | null;
  /** Option 67, else the `file` field, null when both are empty. */
  bootFile: string | null;
  /** Option 60 echoed by PXE servers ("PXEClient"). */
  vendorClass: string | null;
  /** Option 43 as hex (PXE vendor sub-options), null when absent. */
  vendorOptions: string | null;
}

function bindUdp(address: string, port: number, broadcast: boolean): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.once('error', (err) => {
      s.close();
      reject(new PxedError('DHCP_BIND', `cannot bind ${address}:${port}: ${err.message}`, { address, port }, { cause: err }));
    });
    s.bind({ address, port, exclusive: true }, () => {
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      if (broadcast) s.setBroadcast(true);
      resolve(s);
    });
  });
}

/** The DISCOVER the probe sends: broadcast flag set, a random locally administered MAC. */
export function probeDiscover(xid: number, mac: Buffer, pxe: boolean): DhcpPacket {
  const options: DhcpOption[] = [
    { code: OPT.MESSAGE_TYPE, data: Buffer.from([MSG.DISCOVER]) },
    { code: OPT.PARAM_REQUEST, data: Buffer.from([OPT.SUBNET_MASK, OPT.ROUTER, OPT.SERVER_ID, OPT.VENDOR, OPT.TFTP_SERVER, OPT.BOOTFILE, OPT.VENDOR_CLASS]) },
  ];
  if (pxe) {
    options.push(
      { code: OPT.VENDOR_CLASS, data: Buffer.from('PXEClient:Arch:00007:UNDI:003016') },
      { code: OPT.CLIENT_ARCH, data: Buffer.from([0, 7]) },
      { code: OPT.CLIENT_UUID, data: Buffer.concat([Buffer.from([0]), randomBytes(16)]) },
    );
  }
  return {
    op: BOOTREQUEST, htype: 1, hlen: 6, hops: 0, xid, secs: 0, flags: FLAG_BROADCAST,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: Buffer.concat([mac, Buffer.alloc(10)]), sname: '', file: '',
    options,
  };
}

function answerOf(r: DhcpPacket, rinfo: dgram.RemoteInfo): ProbeAnswer {
  const text = (code: number): string | null => {
    const b = getOption(r, code);
    return b === null ? null : b.toString('latin1').replace(/\0+$/, '');
  };
  const opt43 = getOption(r, OPT.VENDOR);
  const bootFile = text(OPT.BOOTFILE) ?? (r.file !== '' ? r.file : null);
  let server = rinfo.address;
  try {
    server = serverId(r) ?? rinfo.address;
  } catch {
    /* malformed option 54: keep the source address */
  }
  return {
    server,
    from: `${rinfo.address}:${rinfo.port}`,
    yiaddr: r.yiaddr,
    nextServer: r.siaddr,
    tftpServer: text(OPT.TFTP_SERVER),
    bootFile,
    vendorClass: vendorClass(r),
    vendorOptions: opt43 === null ? null : opt43.toString('hex'),
  };
}

/**
 * Broadcasts one DISCOVER and returns every OFFER answering it (in arrival order, one per server), after
 * `timeoutMs` or as soon as `until` accepts one. Binding errors throw DHCP_BIND; a send error ends the probe early
 * with what was heard. Never leaves a socket open.
 */
export async function probeDhcp(o: ProbeOptions): Promise<ProbeAnswer[]> {
  const cport = o.clientPort ?? 68;
  const rx = await bindUdp('0.0.0.0', cport, false);
  let tx: dgram.Socket | null = null;
  try {
    tx = await bindUdp(o.address, cport, true);
    const xid = randomBytes(4).readUInt32BE(0);
    const mac = Buffer.concat([Buffer.from([0x02]), randomBytes(5)]); // locally administered
    const answers: ProbeAnswer[] = [];
    const seen = new Set<string>();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, o.timeoutMs ?? 3500);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      rx.on('message', (msg, rinfo) => {
        let r: DhcpPacket;
        try {
          r = decode(msg);
        } catch {
          return; // not a DHCP reply: keep listening
        }
        if (r.op !== BOOTREPLY || r.xid !== xid || messageType(r) !== MSG.OFFER) return;
        const a = answerOf(r, rinfo);
        if (seen.has(a.server)) return;
        seen.add(a.server);
        answers.push(a);
        if (o.until?.(a)) done();
      });
      tx!.send(encode(probeDiscover(xid, mac, o.pxe ?? true)), o.serverPort ?? 67, '255.255.255.255', (err) => {
        if (err) done();
      });
    });
    return answers;
  } finally {
    for (const s of [tx, rx]) {
      try {
        s?.close();
      } catch {
        /* already closed */
      }
    }
  }
}
