// The simulated machines' DHCP side, built on the project's codec (src/dhcp/codec.ts) and the real firmware captures
// in test/fixtures/dhcp (each machine sends those packets with its own MAC, xid, UUID and address written in).
// One socket on 0.0.0.0:68 for the whole rack (as every client's DHCP traffic is broadcast), replies matched by xid;
// the :4011 step uses a per-machine socket on <machine ip>:4011, as EDK2 does. Every wait is bounded; a lost reply
// is retransmitted like firmware does (counted).

import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { decode, decodeSubOptions, encode, encodeSubOptions, getOption, ipToBytes, messageType, MSG, OPT, PXE_SUB, setOption, type DhcpPacket } from '../../src/dhcp/codec.js';

/** Which capture a step replays: the files under test/fixtures/dhcp. */
export const TEMPLATES = {
  biosDiscover: 'bios-chain-01-ipxe-client-discover.bin',
  biosRequest: 'bios-chain-04-ipxe-client-request.bin',
  biosIpxeDiscover: 'bios-chain-06-ipxe-client-discover.bin',
  biosIpxeRequest: 'bios-chain-09-ipxe-client-request.bin',
  uefiDiscover: 'uefi-pxe-01-fw-client-discover.bin',
  uefiRequest: 'uefi-pxe-04-fw-client-request.bin',
  uefiIpxeDiscover: 'uefi-pxe-08-ipxe-client-discover.bin',
  uefiIpxeRequest: 'uefi-pxe-11-ipxe-client-request.bin',
  romDiscover: 'bios-ipxe-01-ipxe-client-discover.bin',
  romRequest: 'bios-ipxe-04-ipxe-client-request.bin',
} as const;
export type TemplateName = keyof typeof TEMPLATES;

export function loadTemplates(dir: string): Record<TemplateName, Buffer> {
  const out = {} as Record<TemplateName, Buffer>;
  for (const [k, f] of Object.entries(TEMPLATES)) out[k as TemplateName] = fs.readFileSync(path.join(dir, f));
  return out;
}

export interface Identity {
  mac: string;
  ip: string;
  /** 16 bytes. */
  uuid: Buffer;
}

/**
 * The capture with this machine's identity written in: chaddr, xid, UUID (97), address (50 or ciaddr), router (54);
 * options in `drop` removed (a plain PXE ROM is the iPXE ROM's capture without user class 77 and iPXE's 175).
 */
export function personalise(template: Buffer, id: Identity, xid: number, router: string, drop: readonly number[] = []): Buffer {
  const p: DhcpPacket = decode(template);
  p.options = p.options.filter((o) => !drop.includes(o.code));
  return finish(p, template.length, id, xid, router);
}

/**
 * The boot-server REQUEST (:4011) made from a stage's REQUEST capture, as firmware does: ciaddr = our address, no
 * 50/54; when the OFFER carried a PXE boot menu (43.9, dnsmasq's pxe-service), its first item asked for (43.71).
 */
export function bootServerRequest(template: Buffer, id: Identity, xid: number, bootItem: number | null, drop: readonly number[] = []): Buffer {
  const p: DhcpPacket = decode(template);
  p.options = p.options.filter((o) => !drop.includes(o.code) && o.code !== OPT.REQUESTED_IP && o.code !== OPT.SERVER_ID);
  p.ciaddr = id.ip;
  if (bootItem !== null) {
    const item = Buffer.from([bootItem >> 8, bootItem & 255, 0, 0]);
    setOption(p, OPT.VENDOR, encodeSubOptions([{ code: PXE_SUB.BOOT_ITEM, data: item }], true));
  }
  return finish(p, template.length, id, xid, '0.0.0.0');
}

function finish(p: DhcpPacket, minSize: number, id: Identity, xid: number, router: string): Buffer {
  p.xid = xid >>> 0;
  p.chaddr = Buffer.alloc(16);
  Buffer.from(id.mac.replace(/:/g, ''), 'hex').copy(p.chaddr);
  if (getOption(p, OPT.CLIENT_UUID) !== null) setOption(p, OPT.CLIENT_UUID, Buffer.concat([Buffer.from([0]), id.uuid]));
  if (p.ciaddr !== '0.0.0.0') p.ciaddr = id.ip;
  if (getOption(p, OPT.REQUESTED_IP) !== null) setOption(p, OPT.REQUESTED_IP, ipToBytes(id.ip));
  if (getOption(p, OPT.SERVER_ID) !== null) setOption(p, OPT.SERVER_ID, ipToBytes(router));
  return encode(p, minSize);
}

export interface Offer {
  server: string;
  file: string;
  siaddr: string;
  /** Type of the first item of a PXE boot menu (43.9), when the OFFER has one. */
  bootItem: number | null;
  /** 43.6 bit 3: "use the boot file of this offer" (PXE 2.1); without it PXE firmware asks the boot server (:4011). */
  direct: boolean;
}

function offerOf(msg: Buffer, want: number): Offer | null {
  let p: DhcpPacket;
  try {
    p = decode(msg);
    if (p.op !== 2 || messageType(p) !== want) return null;
  } catch {
    return null;
  }
  const sid = getOption(p, OPT.SERVER_ID);
  const file = p.file || (getOption(p, OPT.BOOTFILE)?.toString('latin1').replace(/\0+$/, '') ?? '');
  let bootItem: number | null = null;
  let direct = false;
  try {
    const subs = decodeSubOptions(getOption(p, OPT.VENDOR) ?? Buffer.alloc(0), 'option 43');
    const menu = subs.find((o) => o.code === PXE_SUB.BOOT_MENU);
    if (menu && menu.data.length >= 2) bootItem = menu.data.readUInt16BE(0);
    const control = subs.find((o) => o.code === PXE_SUB.DISCOVERY_CONTROL);
    direct = control !== undefined && control.data.length === 1 && (control.data[0]! & 8) !== 0;
  } catch {
    /* a 43 that is not PXE sub-options: no menu, no control */
  }
  return { server: sid && sid.length === 4 ? `${sid[0]}.${sid[1]}.${sid[2]}.${sid[3]}` : p.siaddr, file, siaddr: p.siaddr, bootItem, direct };
}

/** The rack's shared :68 socket. */
export class DhcpPort {
  private readonly waiting = new Map<number, (msg: Buffer) => void>();
  private constructor(private readonly sock: dgram.Socket) {
    sock.on('message', (msg) => {
      if (msg.length < 8) return;
      this.waiting.get(msg.readUInt32BE(4))?.(msg);
    });
  }

  static async open(): Promise<DhcpPort> {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(68, '0.0.0.0', () => resolve());
    });
    sock.setBroadcast(true);
    sock.setRecvBufferSize(8 << 20);
    sock.setSendBufferSize(8 << 20);
    return new DhcpPort(sock);
  }

  /**
   * Broadcasts a DISCOVER until an OFFER from `server` arrives: `tries` sends, the wait doubling from `waitMs` up
   * to 4 s (PXE firmware backs off 4, 8, 16, 32 s; shorter here); returns it and how many sends it took.
   */
  async discover(packet: Buffer, anyXid: number, server: string, waitMs: number, tries: number): Promise<{ offer: Offer; sends: number }> {
    const xid = anyXid >>> 0; // replies are matched on the unsigned wire value
    for (let sends = 1; sends <= tries; sends++) {
      const offer = await new Promise<Offer | null>((resolve) => {
        const timer = setTimeout(() => {
          this.waiting.delete(xid);
          resolve(null);
        }, Math.min(4000, waitMs * 2 ** (sends - 1)));
        this.waiting.set(xid, (msg) => {
          const o = offerOf(msg, MSG.OFFER);
          if (o === null || o.server !== server) return;
          clearTimeout(timer);
          this.waiting.delete(xid);
          resolve(o);
        });
        this.sock.send(packet, 67, '255.255.255.255');
      });
      if (offer) return { offer, sends };
    }
    throw new Error(`no proxy OFFER after ${tries} DISCOVERs`);
  }

  /**
   * A broadcast REQUEST to the site's router, which the proxy only observes (it learns the address the machine
   * uses, to put its TFTP transfers on its timeline). The storm has no router to ACK it, so the retransmissions a
   * client makes while it waits for that ACK are sent up front: 4 copies 50 ms apart.
   */
  async request(packet: Buffer): Promise<void> {
    for (let i = 0; i < 4; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      await new Promise<void>((resolve) => this.sock.send(packet, 67, '255.255.255.255', () => resolve()));
    }
  }

  close(): void {
    this.sock.close();
  }
}

/** The UEFI boot-server step: REQUEST from <ip>:4011 to <server>:4011 until an ACK names the boot file. */
export async function request4011(packet: Buffer, ip: string, server: string, waitMs: number, tries: number): Promise<{ offer: Offer; sends: number }> {
  const sock = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(4011, ip, () => resolve());
    });
    for (let sends = 1; sends <= tries; sends++) {
      const ack = await new Promise<Offer | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), Math.min(4000, waitMs * 2 ** (sends - 1)));
        sock.on('message', (msg) => {
          const o = offerOf(msg, MSG.ACK);
          if (o === null) return;
          clearTimeout(timer);
          resolve(o);
        });
        sock.send(packet, 4011, server);
      });
      sock.removeAllListeners('message');
      if (ack) return { offer: ack, sends };
    }
    throw new Error(`no :4011 ACK after ${tries} REQUESTs`);
  } finally {
    sock.close();
  }
}
