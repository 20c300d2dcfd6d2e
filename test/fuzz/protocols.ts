// The three fuzzers over a FuzzApp (harness.ts). Each runs `count` inputs from `seed` and returns how many it ran;
// findings are recorded on the app (and their inputs saved). Seeds are real traffic: the firmware captures in
// test/fixtures/dhcp, the TFTP requests firmware sends, and the HTTP requests the storm's machines make.

import dgram from 'node:dgram';
import fs from 'node:fs';
import { fixtures } from '../helpers/paths.js';
import { encode as tftpEncode } from '../../src/tftp/codec.js';
import { machineMac } from '../storm/rack.js';
import { FuzzApp, HANG_MS, isMalformed } from './harness.js';
import { mutate, randomBytes, rng, type Rng } from './mutate.js';

/** DHCP client packets from the captures (replies are not what a server receives). */
export function dhcpSeeds(): Buffer[] {
  const dir = fixtures('dhcp');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.bin') && /client/.test(f)).map((f) => fs.readFileSync(`${dir}/${f}`));
}

export function fuzzDhcp(f: FuzzApp, count: number, seed: number, machines: number): number {
  const seeds = dhcpSeeds();
  const r = rng(seed);
  for (let i = 0; i < count; i++) {
    let input: Buffer;
    if (i % 8 === 0) {
      input = randomBytes(r, 600);
      if (input.length >= 240 && r() < 0.7) input.writeUInt32BE(0x63825363, 236);
    } else {
      const s = seeds[i % seeds.length]!;
      // Half the time the fixed header is kept (options are where the parsing is), with a registered MAC.
      const keepHeader = r() < 0.5;
      input = mutate(r, s, seeds[Math.floor(r() * seeds.length)]!, keepHeader ? 240 : 0);
      if (keepHeader && input.length >= 34 && r() < 0.7) Buffer.from(machineMac(Math.floor(r() * machines)).replace(/:/g, ''), 'hex').copy(input, 28);
    }
    const via = i % 3 === 2 ? 'boot' : 'rx';
    const t0 = performance.now();
    try {
      f.dhcpHandle(via, input);
    } catch (err) {
      if (!isMalformed(err)) f.record('dhcp', i, `${via}: ${err instanceof Error ? err.stack : String(err)}`, input);
    }
    if (performance.now() - t0 > HANG_MS) f.record('dhcp', i, `${via}: took ${(performance.now() - t0).toFixed(0)} ms`, input);
  }
  return count;
}

function tftpSeeds(): Buffer[] {
  const rrq = (file: string, opts: Array<[string, string]>): Buffer => tftpEncode({ op: 'rrq', filename: file, mode: 'octet', options: opts.map(([name, value]) => ({ name, value })) });
  return [
    rrq('undionly.kpxe', []),
    rrq('snponly.efi', [['blksize', '1468'], ['tsize', '0'], ['windowsize', '4']]),
    rrq('undionly.kpxe', [['blksize', '1456'], ['timeout', '1']]),
    rrq('../etc/passwd', [['tsize', '0']]),
    tftpEncode({ op: 'wrq', filename: 'x', mode: 'octet', options: [] }),
    tftpEncode({ op: 'ack', block: 0 }),
    tftpEncode({ op: 'ack', block: 1 }),
    tftpEncode({ op: 'error', code: 0, message: 'client abort' }),
    tftpEncode({ op: 'data', block: 1, data: Buffer.alloc(16) }),
    tftpEncode({ op: 'oack', options: [{ name: 'blksize', value: '512' }] }),
  ];
}

/**
 * Datagrams over loopback: to the listener and, every few inputs, to the transfer port of a transfer this fuzzer
 * opened with a real RRQ. Paced so the kernel queue does not simply drop them. Afterwards a real read must still
 * complete (the service is alive) and every transfer must end.
 */
export async function fuzzTftp(f: FuzzApp, count: number, seed: number): Promise<number> {
  const seeds = tftpSeeds();
  const r: Rng = rng(seed);
  const port = f.app.tftp!.port;
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  let transferPort = -1;
  sock.on('message', (_msg, rinfo) => {
    if (rinfo.port !== port) transferPort = rinfo.port;
  });
  const recent: Buffer[] = [];
  const send = (b: Buffer, to: number): Promise<void> => new Promise((resolve) => sock.send(b, to, '127.0.0.1', () => resolve()));
  try {
    for (let i = 0; i < count; i++) {
      if (i % 64 === 0) await send(seeds[1]!, port); // a real RRQ: its transfer port becomes a target
      const input = i % 8 === 0 ? randomBytes(r, 700) : mutate(r, seeds[i % seeds.length]!, seeds[Math.floor(r() * seeds.length)]!);
      recent.push(input);
      if (recent.length > 256) recent.shift();
      await send(input, transferPort > 0 && i % 2 === 1 ? transferPort : port);
      if (i % 32 === 31) await new Promise((res) => setImmediate(res));
    }
  } finally {
    sock.close();
  }
  return count;
}

interface HttpSeed {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

function httpSeeds(admin: string): HttpSeed[] {
  const mac = machineMac(1);
  const auth = { authorization: `Bearer ${admin}` };
  const json = { 'content-type': 'application/json' };
  return [
    { method: 'GET', url: '/boot.ipxe', headers: {} },
    { method: 'GET', url: `/ipxe/${mac.replace(/:/g, '-')}?arch=x86_64&platform=efi&uuid=57070000-0000-0000-0000-000000000002&manufacturer=QEMU&product=Standard%20PC&serial=`, headers: {} },
    { method: 'GET', url: `/ipxe/${mac}?buildarch=i386&platform=pcbios`, headers: {} },
    { method: 'GET', url: '/assets/ubuntu/24.04/vmlinuz', headers: { range: 'bytes=0-99' } },
    { method: 'GET', url: '/assets/ubuntu/24.04/initrd', headers: { 'if-none-match': '"abc"' } },
    { method: 'GET', url: '/nocloud/0123456789abcdef0123456789abcdef/user-data', headers: {} },
    { method: 'POST', url: '/api/v1/boot/0123456789abcdef0123456789abcdef/events', headers: json, body: '{"status":"installed","detail":"done"}' },
    { method: 'POST', url: '/api/v1/boot/0123456789abcdef/events', headers: json, body: '{"event_type":"start","name":"subiquity/Install","origin":"curtin","timestamp":1.5}' },
    { method: 'GET', url: `/api/v1/machines/${mac}/events?after=0&limit=5`, headers: auth },
    { method: 'POST', url: '/api/v1/machines', headers: { ...auth, ...json }, body: `{"mac":"52:54:00:99:00:01","host":"storm-0000","installMode":"once"}` },
    { method: 'PATCH', url: `/api/v1/machines/${mac}`, headers: { ...auth, ...json }, body: '{"installMode":"always"}' },
    { method: 'GET', url: `/api/v1/machines/${mac}/render/user-data`, headers: auth },
    { method: 'GET', url: '/metrics', headers: {} },
  ];
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** HTTP inputs in flight at once: the app's work (registry writes, renders, fastify) overlaps the waits in between. */
export const HTTP_IN_FLIGHT = 8;

/**
 * Requests through inject(), HTTP_IN_FLIGHT at a time; an unexpected 500 (HTTP_INTERNAL) or a thrown inject is a
 * finding. Inputs are drawn from the seeded generator in index order (input i is the same whatever the timing).
 */
export async function fuzzHttp(f: FuzzApp, count: number, seed: number): Promise<number> {
  const seeds = httpSeeds(f.adminToken);
  const r = rng(seed);
  const app = f.http;
  let next = 0;
  const one = async (i: number): Promise<void> => {
    const s = seeds[i % seeds.length]!;
    const other = seeds[Math.floor(r() * seeds.length)]!;
    const url = r() < 0.8 ? mutate(r, Buffer.from(s.url, 'latin1'), Buffer.from(other.url, 'latin1'), 1).toString('latin1') : s.url;
    const body = s.body !== undefined && r() < 0.7 ? mutate(r, Buffer.from(s.body), Buffer.from(other.body ?? '{}')) : s.body;
    const headers = { ...s.headers };
    if (r() < 0.2) headers[['content-type', 'range', 'if-range', 'if-modified-since', 'authorization', 'accept'][Math.floor(r() * 6)]!] = randomBytes(r, 40).toString('latin1').replace(/[\r\n\0]/g, 'x');
    const method = r() < 0.1 ? METHODS[Math.floor(r() * METHODS.length)]! : s.method;
    const input = JSON.stringify({ method, url, headers, body: body === undefined ? undefined : Buffer.from(body).toString('base64') });
    const t0 = performance.now();
    try {
      const res = await app.inject({ method: method as 'GET', url: url.startsWith('/') ? url : `/${url}`, headers, ...(body !== undefined ? { payload: body } : {}) });
      if (res.statusCode === 500 && res.body.includes('HTTP_INTERNAL')) f.record('http', i, `500 HTTP_INTERNAL: ${res.body}`, input);
    } catch (err) {
      // inject() itself refuses some URLs and header values (invalid characters): not the app's doing.
      if (!/Invalid|invalid|ERR_INVALID|must be/.test(String(err))) f.record('http', i, `inject threw: ${err instanceof Error ? err.stack : String(err)}`, input);
    }
    if (performance.now() - t0 > HANG_MS) f.record('http', i, `took ${(performance.now() - t0).toFixed(0)} ms`, input);
  };
  const lane = async (): Promise<void> => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: HTTP_IN_FLIGHT }, lane));
  return count;
}
