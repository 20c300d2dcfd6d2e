// TftpService on 127.0.0.1 with a kernel-chosen high port (root namespace, loopback only): real clients (curl,
// tftp-hpa, atftp), protocol details with a hand-made client, hostile input, fuzzing, caps and cleanup.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { TftpPolicyPort, TftpTransferReport } from '../../src/tftp/ports.js';
import { decode, encode, ERR } from '../../src/tftp/codec.js';
import { TftpService } from '../../src/tftp/server.js';
import { waitFor } from '../helpers/netns.js';
import { exchange, rrqPacket, sendNow, tftpGet, TftpClientError } from './client.js';
import { traversalCorpus } from './traversal.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';

let dir: string;
let root: string;
const files: Record<string, Buffer> = {};
const reports: TftpTransferReport[] = [];
let svc: TftpService;
let port: number;

const policy: TftpPolicyPort = {
  tftpOpen(p, client) {
    if (p !== 'dyn/hello.ipxe') return Promise.resolve(null);
    const body = Buffer.from(`#!ipxe\necho hello ${client.address}\n`);
    return Promise.resolve({ stream: Readable.from([body.subarray(0, 5), body.subarray(5)]), size: body.length });
  },
  tftpTransferred(r) {
    reports.push(r);
  },
};

function put(name: string, data: Buffer): void {
  files[name] = data;
  fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
  fs.writeFileSync(path.join(root, name), data);
}

/** Waits until no transfer is active; on timeout the message lists what is still running. */
async function drained(s: TftpService, timeoutMs = 3000): Promise<void> {
  await waitFor('transfers to drain', () => s.stats().active === 0 && s.stats().pending === 0, timeoutMs, 5).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(s.activeTransfers())}`);
  });
}

async function download(cmd: string, args: string[], out: string): Promise<Buffer> {
  await run(cmd, args, { timeout: 30_000 });
  return fs.readFileSync(out);
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tftp-srv-'));
  root = path.join(dir, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'TOP-SECRET-OUTSIDE-ROOT');
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'link-out'));
  fs.symlinkSync(dir, path.join(root, 'linkdir'));
  put('undionly.kpxe', crypto.randomBytes(74213));
  put('sub/snponly.efi', crypto.randomBytes(173792));
  put('medium.bin', crypto.randomBytes(3 * 1024 * 1024 + 17));
  put('exact.bin', crypto.randomBytes(1468 * 20));
  put('exact512.bin', crypto.randomBytes(512 * 7));
  put('empty.bin', Buffer.alloc(0));
  put('ten.bin', crypto.randomBytes(512 * 10 + 1));
  put('autoexec.ipxe', Buffer.from('#!ipxe\n'));
  put('rollover.bin', crypto.randomBytes(8 * 70000 + 3));
  svc = new TftpService({
    listen: [HOST],
    port: 0,
    roots: [root],
    timeoutMs: 400,
    backoff: 1.5,
    retries: 3,
    maxTransfersPerClient: 64,
    // medium.bin (3 MiB) is read from disk in chunks; the smaller files come from the file cache.
    cacheFileBytes: 1024 * 1024,
    policy,
  });
  await svc.start();
  port = svc.port;
});

after(async () => {
  await svc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

void describe('real clients: byte-identical downloads', () => {
  for (const name of ['undionly.kpxe', 'sub/snponly.efi', 'medium.bin', 'exact.bin', 'exact512.bin', 'empty.bin']) {
    // curl (Debian 12) fails every zero-length TFTP download with "getpeername() failed, errno 107" (dnsmasq too);
    // tftp-hpa and atftp cover empty.bin.
    if (name !== 'empty.bin') void it(`curl ${name} (512 and --tftp-blksize 1468)`, async () => {
      const out = path.join(dir, `curl-${name.replace('/', '_')}`);
      assert.deepEqual(await download('curl', ['-sS', '-o', out, `tftp://${HOST}:${port}/${name}`], out), files[name]);
      assert.deepEqual(await download('curl', ['-sS', '--tftp-blksize', '1468', '-o', out, `tftp://${HOST}:${port}/${name}`], out), files[name]);
    });
    void it(`tftp-hpa ${name}`, async () => {
      const out = path.join(dir, `hpa-${name.replace('/', '_')}`);
      assert.deepEqual(await download('tftp', ['-m', 'binary', HOST, String(port), '-c', 'get', name, out], out), files[name]);
    });
    void it(`atftp ${name} with blksize 1468, tsize 0, windowsize 8`, async () => {
      const out = path.join(dir, `atftp-${name.replace('/', '_')}`);
      const args = ['--option', 'blksize 1468', '--option', 'tsize 0', '--option', 'windowsize 8', '-g', '-r', name, '-l', out, HOST, String(port)];
      assert.deepEqual(await download('atftp', args, out), files[name]);
    });
  }
  void it('leading slash and backslashes are accepted (ROM habits)', async () => {
    const out = path.join(dir, 'bs.efi');
    assert.deepEqual(await download('curl', ['-sS', '-o', out, `tftp://${HOST}:${port}/%5Csub%5Csnponly.efi`], out), files['sub/snponly.efi']);
    assert.deepEqual((await tftpGet({ host: HOST, port, file: '/sub/snponly.efi' })).data, files['sub/snponly.efi']);
  });
  void it('the file cache serves a file rewritten in place or replaced by rename with its new contents', async () => {
    const get = async (): Promise<Buffer> => (await tftpGet({ host: HOST, port, file: 'changing.bin', options: [['blksize', '1468']] })).data;
    put('changing.bin', Buffer.alloc(5000, 1));
    assert.deepEqual(await get(), files['changing.bin']);
    const hits = svc.stats().cache.hits;
    assert.deepEqual(await get(), files['changing.bin']);
    assert.equal(svc.stats().cache.hits, hits + 1, 'second download came from the cache');
    put('changing.bin', Buffer.alloc(5000, 2)); // same size, in place
    assert.deepEqual(await get(), files['changing.bin']);
    fs.writeFileSync(path.join(dir, 'next.bin'), Buffer.alloc(3000, 3));
    fs.renameSync(path.join(dir, 'next.bin'), path.join(root, 'changing.bin'));
    assert.deepEqual(await get(), Buffer.alloc(3000, 3));
  });
  void it('50 concurrent clients (curl, tftp-hpa, atftp) all byte-identical', async () => {
    const jobs = Array.from({ length: 50 }, async (_, i) => {
      const name = i % 2 === 0 ? 'medium.bin' : 'sub/snponly.efi';
      const out = path.join(dir, `conc-${i}`);
      const kind = i % 3;
      const got =
        kind === 0
          ? await download('curl', ['-sS', '--tftp-blksize', '1468', '-o', out, `tftp://${HOST}:${port}/${name}`], out)
          : kind === 1
            ? await download('tftp', ['-m', 'binary', HOST, String(port), '-c', 'get', name, out], out)
            : await download('atftp', ['--option', 'blksize 1468', '--option', 'windowsize 8', '-g', '-r', name, '-l', out, HOST, String(port)], out);
      assert.deepEqual(got, files[name], `client ${i}`);
    });
    await Promise.all(jobs);
    await drained(svc, 5000);
  });
});

void describe('protocol details', () => {
  void it('block numbers roll over past 65535 (blksize 8, windowsize 32)', async () => {
    const r = await tftpGet({ host: HOST, port, file: 'rollover.bin', options: [['blksize', '8'], ['windowsize', '32']] });
    assert.equal(r.blocks, 70001);
    assert.deepEqual(r.data, files['rollover.bin']);
  });
  void it('OACK carries only requested options; tsize is exact', async () => {
    const a = await tftpGet({ host: HOST, port, file: 'undionly.kpxe', options: [['blksize', '1432']] });
    assert.deepEqual(a.oack, { blksize: '1432' });
    const b = await tftpGet({ host: HOST, port, file: 'undionly.kpxe', options: [['tsize', '0'], ['blksize', '9000'], ['timeout', '2'], ['foo', 'bar']] });
    assert.deepEqual(b.oack, { tsize: '74213', blksize: '1468', timeout: '2' });
    assert.deepEqual(b.data, files['undionly.kpxe']);
    const c = await tftpGet({ host: HOST, port, file: 'ten.bin' });
    assert.equal(c.oack, null, 'no options asked: DATA 1 first');
  });
  void it('missing file: ERROR 1 at once, never an OACK first (docs/protocol.md Q8)', async () => {
    const t0 = Date.now();
    const replies = await exchange(HOST, port, [rrqPacket('missing.efi', [['tsize', '0'], ['blksize', '1468']])], 150);
    assert.equal(replies.length, 1);
    assert.deepEqual(replies[0]!.packet, { op: 'error', code: ERR.NOT_FOUND, message: 'file not found' });
    assert.ok(Date.now() - t0 < 1000);
  });
  void it('autoexec.ipxe gets an instant not-found even though the root has one (docs/protocol.md Q14)', async () => {
    const replies = await exchange(HOST, port, [rrqPacket('autoexec.ipxe'), rrqPacket('/sub/autoexec.ipxe')], 150);
    assert.deepEqual(replies.map((r) => r.packet?.op === 'error' && r.packet.code), [ERR.NOT_FOUND, ERR.NOT_FOUND]);
  });
  void it('WRQ is refused with ERROR 2; netascii and unknown modes with ERROR 4; unknown opcodes get ERROR 4', async () => {
    const w = await exchange(HOST, port, [encode({ op: 'wrq', filename: 'x', mode: 'octet', options: [] })], 150);
    assert.equal(w[0]?.packet?.op === 'error' && w[0].packet.code, ERR.ACCESS_VIOLATION);
    const n = await exchange(HOST, port, [rrqPacket('ten.bin', [], 'NetASCII')], 150);
    assert.ok(n[0]?.packet?.op === 'error' && n[0].packet.code === ERR.ILLEGAL_OPERATION && /netascii/.test(n[0].packet.message));
    const m = await exchange(HOST, port, [rrqPacket('ten.bin', [], 'mail')], 150);
    assert.equal(m[0]?.packet?.op === 'error' && m[0].packet.code, ERR.ILLEGAL_OPERATION);
    const u = await exchange(HOST, port, [Buffer.from([0, 9, 1, 2]), Buffer.from([0, 4, 0, 1]), Buffer.from([7])], 150);
    assert.deepEqual(u.map((r) => r.packet?.op === 'error' && r.packet.code), [4, 4, 4]);
    const e = await exchange(HOST, port, [encode({ op: 'error', code: 0, message: 'x' })], 150);
    assert.equal(e.length, 0, 'an ERROR is never answered');
  });
  void it('EDK2 size probe: OACK with tsize, ERROR 8, second RRQ downloads (docs/protocol.md Q5, §6.2)', async () => {
    const before = svc.stats();
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, HOST, r));
    const got: Array<{ p: ReturnType<typeof decode>; port: number }> = [];
    sock.on('message', (m, ri) => got.push({ p: decode(m), port: ri.port }));
    sock.send(rrqPacket('sub/snponly.efi', [['tsize', '0'], ['blksize', '1468'], ['windowsize', '4']]), port, HOST);
    await waitFor('OACK', () => got.length > 0, 2000, 5);
    assert.deepEqual(got[0]!.p, { op: 'oack', options: [{ name: 'tsize', value: '173792' }, { name: 'blksize', value: '1468' }, { name: 'windowsize', value: '4' }] });
    await sendNow(sock, encode({ op: 'error', code: 8, message: 'User aborted the transfer' }), got[0]!.port, HOST);
    await drained(svc);
    sock.close();
    const r = await tftpGet({ host: HOST, port, file: 'sub/snponly.efi', options: [['blksize', '1468'], ['windowsize', '4']] });
    assert.deepEqual(r.data, files['sub/snponly.efi']);
    await drained(svc);
    assert.equal(svc.stats().failed, before.failed, 'a size probe is not a failure');
    const rep = reports.filter((x) => x.path === 'sub/snponly.efi').slice(-2);
    assert.deepEqual(rep.map((x) => x.outcome), ['size-probe', 'complete']);
    assert.equal(rep[1]!.bytes, 173792);
    assert.deepEqual(rep[1]!.options, { blksize: '1468', windowsize: '4' });
  });
  void it('a wrong TID gets ERROR 5 and the transfer carries on; duplicate ACKs cause no retransmission', async () => {
    const sock = dgram.createSocket('udp4');
    const intruder = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, HOST, r));
    await new Promise<void>((r) => intruder.bind(0, HOST, r));
    const got: Array<ReturnType<typeof decode>> = [];
    const intruderGot: Array<ReturnType<typeof decode>> = [];
    let tid = -1;
    sock.on('message', (m, ri) => {
      tid = ri.port;
      got.push(decode(m));
    });
    intruder.on('message', (m) => intruderGot.push(decode(m)));
    sock.send(rrqPacket('ten.bin'), port, HOST);
    await waitFor('DATA 1', () => got.length === 1, 2000, 5);
    intruder.send(encode({ op: 'ack', block: 1 }), tid, HOST);
    await waitFor('ERROR 5', () => intruderGot.length === 1, 2000, 5);
    assert.equal(intruderGot[0]!.op === 'error' && intruderGot[0]!.code, ERR.UNKNOWN_TID);
    assert.equal(got.length, 1, 'the intruder did not advance the transfer');
    for (let i = 0; i < 5; i++) sock.send(encode({ op: 'ack', block: 1 }), tid, HOST);
    await new Promise((r) => setTimeout(r, 150)); // below the 400 ms retransmission timeout
    assert.deepEqual(got.map((p) => p.op === 'data' && p.block), [1, 2], 'five ACK 1s produce one DATA 2');
    for (let b = 2; b <= 11; b++) {
      await sendNow(sock, encode({ op: 'ack', block: b }), tid, HOST);
      await waitFor(`after ACK ${b}`, () => got.length >= Math.min(b + 1, 11), 2000, 2);
    }
    sock.close();
    intruder.close();
    await drained(svc);
  });
  void it('windowsize: an ACK inside the window restarts at k+1', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, HOST, r));
    const blocks: number[] = [];
    let tid = -1;
    sock.on('message', (m, ri) => {
      tid = ri.port;
      const p = decode(m);
      blocks.push(p.op === 'data' ? p.block : p.op === 'oack' ? 0 : -1);
    });
    sock.send(rrqPacket('ten.bin', [['windowsize', '4']]), port, HOST);
    await waitFor('OACK', () => blocks.length === 1, 2000, 5);
    sock.send(encode({ op: 'ack', block: 0 }), tid, HOST);
    await waitFor('window 1', () => blocks.length === 5, 2000, 5);
    sock.send(encode({ op: 'ack', block: 2 }), tid, HOST);
    await waitFor('restart', () => blocks.length === 9, 2000, 5);
    assert.deepEqual(blocks, [0, 1, 2, 3, 4, 3, 4, 5, 6]);
    await sendNow(sock, encode({ op: 'error', code: 0, message: 'bye' }), tid, HOST);
    sock.close();
    await drained(svc);
  });
  void it('dynamic file from the policy, with a report per transfer', async () => {
    const r = await tftpGet({ host: HOST, port, file: 'dyn/hello.ipxe', options: [['tsize', '0']] });
    assert.equal(r.data.toString(), `#!ipxe\necho hello ${HOST}\n`);
    assert.equal(r.oack?.tsize, String(r.data.length));
    await drained(svc);
    const rep = reports.filter((x) => x.path === 'dyn/hello.ipxe').at(-1)!;
    assert.equal(rep.outcome, 'complete');
    assert.equal(rep.client.address, HOST);
    assert.equal(rep.bytes, r.data.length);
  });
});

void describe('hostile input', () => {
  void it('no traversal name ever serves anything outside the root', async () => {
    const corpus = traversalCorpus('secret.txt', path.join(dir, 'secret.txt'));
    assert.ok(corpus.length >= 50);
    const packets = corpus.map((name) => {
      const b = Buffer.from(name, 'utf8');
      // Build the RRQ by hand so embedded NULs reach the wire as sent.
      return Buffer.concat([Buffer.from([0, 1]), b, Buffer.from([0]), Buffer.from('octet\0tsize\x000\0')]);
    });
    const replies = await exchange(HOST, port, packets, 600);
    assert.ok(replies.length >= corpus.length * 0.9, `got ${replies.length} replies`);
    for (const r of replies) {
      assert.ok(!r.raw.includes('TOP-SECRET'), 'secret content leaked');
      assert.equal(r.packet?.op, 'error', `non-error reply ${JSON.stringify(r.packet)}`);
    }
    for (const name of ['link-out', 'linkdir/secret.txt', '../secret.txt']) {
      await assert.rejects(tftpGet({ host: HOST, port, file: name, timeoutMs: 300, retries: 1 }), (e) => e instanceof TftpClientError && e.tftpCode !== null);
    }
  });
  void it('100 000 mutated and random packets: no crash, still serves afterwards, nothing left behind', async () => {
    const seeds = [rrqPacket('ten.bin', [['blksize', '1468'], ['tsize', '0']]), rrqPacket('x', [['windowsize', '8']]), encode({ op: 'ack', block: 1 }), encode({ op: 'wrq', filename: 'a', mode: 'octet', options: [] })];
    const sock = dgram.createSocket('udp4');
    // A separate loopback source address, so the fuzz transfers' per-client slots do not block the check below.
    await new Promise<void>((r) => sock.bind(0, '127.0.0.2', r));
    let replies = 0;
    sock.on('message', () => replies++);
    let seed = 99;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const total = 100_000;
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < total && Date.now() < deadline; ) {
      for (let k = 0; k < 500; k++, i++) {
        let b: Buffer;
        if (i % 2 === 0) {
          b = Buffer.from(seeds[rnd(seeds.length)]!);
          for (let m = 0, n = 1 + rnd(3); m < n; m++) b[rnd(b.length)] = rnd(256);
          if (rnd(3) === 0) b = b.subarray(0, rnd(b.length + 1));
        } else b = crypto.randomBytes(rnd(80));
        sock.send(b, port, HOST);
      }
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 200));
    sock.close();
    assert.ok(replies > 1000, `server kept answering (${replies} replies)`);
    const out = path.join(dir, 'after-fuzz');
    assert.deepEqual(await download('curl', ['-sS', '--tftp-blksize', '1468', '-o', out, `tftp://${HOST}:${port}/medium.bin`], out), files['medium.bin']);
    // Transfers started by lucky mutations time out (0.4 + 0.6 + 0.9 + 1.35 s) and release their sockets.
    await waitFor('fuzz transfers to time out', () => svc.stats().active === 0 && svc.stats().pending === 0, 15_000, 100);
    assert.equal(svc.stats().sockets, 1, 'only the listener is open');
  });
});

void describe('timeouts, caps, cleanup', () => {
  let s2: TftpService;
  let p2: number;
  const rep2: TftpTransferReport[] = [];
  before(async () => {
    s2 = new TftpService({
      listen: [HOST],
      port: 0,
      roots: [root],
      timeoutMs: 100,
      backoff: 2,
      retries: 3,
      maxTransfersPerClient: 2,
      maxTransfers: 3,
      policy: { tftpOpen: () => Promise.resolve(null), tftpTransferred: (r) => rep2.push(r) },
    });
    await s2.start();
    p2 = s2.port;
  });
  after(async () => {
    await s2.stop();
  });

  void it('a client that stops ACKing is dropped after the retries and its socket closed', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, HOST, r));
    const got: Array<ReturnType<typeof decode>> = [];
    sock.on('message', (m, ri) => {
      const p = decode(m);
      got.push(p);
      // ACK DATA 1 only (the client is confirmed), then fall silent.
      if (p.op === 'data' && p.block === 1) sock.send(encode({ op: 'ack', block: 1 }), ri.port, ri.address);
    });
    sock.send(rrqPacket('ten.bin'), p2, HOST);
    await waitFor('transfer active', () => s2.stats().active === 1, 2000, 5);
    assert.equal(s2.stats().sockets, 3, 'listener + transfer socket + wrong-TID guard');
    assert.equal(s2.activeTransfers()[0]!.path, 'ten.bin');
    await waitFor('transfer dropped', () => s2.stats().active === 0, 5000, 20); // 0.1 + 0.2 + 0.4 + 0.8 s
    await waitFor('socket closed', () => s2.stats().sockets === 1, 1000, 5);
    sock.close();
    const datas = got.filter((p) => p.op === 'data');
    assert.equal(datas.length, 5, 'DATA 1, then DATA 2 once plus 3 retransmissions');
    assert.ok(got.at(-1)?.op === 'error', 'the client is told');
    assert.equal(rep2.at(-1)?.outcome, 'timeout');
  });
  void it('a final ACK that never arrives ends the transfer as complete', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, HOST, r));
    sock.on('message', (m, ri) => {
      const p = decode(m);
      if (p.op === 'data' && p.data.length === 512) sock.send(encode({ op: 'ack', block: p.block }), ri.port, ri.address);
    });
    sock.send(rrqPacket('ten.bin'), p2, HOST);
    await waitFor('transfer active', () => s2.stats().active === 1, 2000, 5);
    await waitFor('transfer ended', () => s2.stats().active === 0, 5000, 20);
    sock.close();
    assert.equal(rep2.at(-1)?.outcome, 'complete');
    assert.equal(rep2.at(-1)?.detail, 'final ACK not received');
  });
  void it('per-client and global caps answer with a clear ERROR', async () => {
    const socks = await Promise.all(
      ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.3', '127.0.0.4'].map(async (addr) => {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, addr, r));
        const got: Array<ReturnType<typeof decode>> = [];
        s.on('message', (m) => got.push(decode(m)));
        return { s, got };
      }),
    );
    for (let i = 0; i < 3; i++) socks[i]!.s.send(rrqPacket('ten.bin'), p2, HOST);
    await waitFor('replies', () => socks.slice(0, 3).every((x) => x.got.length > 0), 2000, 5);
    const third = socks.slice(0, 3).find((x) => x.got[0]?.op === 'error');
    assert.ok(third && third.got[0]?.op === 'error' && /too many concurrent transfers from this client/.test(third.got[0].message));
    socks[3]!.s.send(rrqPacket('ten.bin'), p2, HOST);
    await waitFor('4th', () => socks[3]!.got.length > 0, 2000, 5);
    assert.equal(socks[3]!.got[0]?.op, 'data');
    socks[4]!.s.send(rrqPacket('ten.bin'), p2, HOST);
    await waitFor('5th', () => socks[4]!.got.length > 0, 2000, 5);
    assert.ok(socks[4]!.got[0]?.op === 'error' && /server busy/.test(socks[4]!.got[0].message));
    for (const x of socks) x.s.close();
    await waitFor('all dropped', () => s2.stats().active === 0 && s2.stats().sockets === 1, 5000, 20);
  });
  void it('stop() closes every socket', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, HOST, r));
    sock.on('message', () => undefined);
    sock.send(rrqPacket('medium.bin'), p2, HOST);
    await waitFor('transfer active', () => s2.stats().active === 1, 2000, 5);
    await s2.stop();
    assert.deepEqual([s2.stats().active, s2.stats().sockets], [0, 0]);
    sock.close();
    await s2.start();
    p2 = s2.port;
  });
});
