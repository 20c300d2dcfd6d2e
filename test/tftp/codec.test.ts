import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ackBlock, decode, encode, writeDataHeader, type TftpPacket } from '../../src/tftp/codec.js';
import { isPxedError } from '../../src/errors.js';
import { readPcap, udpRecords } from '../helpers/pcap.js';

const fixtureDir = path.join(process.cwd(), 'test', 'tftp', 'fixtures');
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Stable one-line text for a packet (DATA payloads as length + sha256 prefix). */
export function render(p: TftpPacket): string {
  switch (p.op) {
    case 'rrq':
    case 'wrq':
      return `${p.op.toUpperCase()} "${p.filename}" ${p.mode}${p.options.map((o) => ` ${o.name}=${o.value}`).join('')}`;
    case 'data':
      return `DATA ${p.block} len=${p.data.length} sha256=${crypto.createHash('sha256').update(p.data).digest('hex').slice(0, 16)}`;
    case 'ack':
      return `ACK ${p.block}`;
    case 'error':
      return `ERROR ${p.code} "${p.message}"`;
    case 'oack':
      return `OACK${p.options.map((o) => ` ${o.name}=${o.value}`).join('')}`;
  }
}

void describe('tftp codec on literal bytes', () => {
  void it('decodes an EDK2 RRQ with options (pin/tftp#125 shape)', () => {
    const b = Buffer.concat([hex('0001'), Buffer.from('snponly.efi\0octet\0tsize\x000\0blksize\x001468\0windowsize\x004\0')]);
    assert.deepEqual(decode(b), {
      op: 'rrq',
      filename: 'snponly.efi',
      mode: 'octet',
      options: [
        { name: 'tsize', value: '0' },
        { name: 'blksize', value: '1468' },
        { name: 'windowsize', value: '4' },
      ],
    });
  });
  void it('decodes WRQ, DATA, ACK, ERROR, OACK', () => {
    assert.equal(decode(Buffer.from('\x00\x02a\0octet\0')).op, 'wrq');
    const d = decode(hex('0003 ffff 010203'));
    assert.equal(d.op, 'data');
    assert.equal(d.op === 'data' && d.block, 0xffff);
    assert.deepEqual(d.op === 'data' && [...d.data], [1, 2, 3]);
    assert.deepEqual(decode(hex('0004 0000')), { op: 'ack', block: 0 });
    assert.deepEqual(decode(Buffer.concat([hex('0005 0008'), Buffer.from('User aborted the transfer\0')])), { op: 'error', code: 8, message: 'User aborted the transfer' });
    assert.deepEqual(decode(Buffer.concat([hex('0005 0001'), Buffer.from('no nul')])), { op: 'error', code: 1, message: 'no nul' });
    assert.deepEqual(decode(Buffer.from('\x00\x06blksize\x001468\0')), { op: 'oack', options: [{ name: 'blksize', value: '1468' }] });
  });
  void it('encodes exact bytes', () => {
    assert.deepEqual(encode({ op: 'ack', block: 65535 }), hex('0004ffff'));
    assert.deepEqual(encode({ op: 'error', code: 2, message: 'x' }), hex('0005 0002 78 00'));
    assert.deepEqual(encode({ op: 'oack', options: [{ name: 'tsize', value: '10' }] }), Buffer.from('\x00\x06tsize\x0010\0'));
    assert.deepEqual(encode({ op: 'data', block: 2, data: Buffer.from([9]) }), hex('0003 0002 09'));
    const b = Buffer.alloc(6);
    writeDataHeader(b, 0x1234);
    assert.deepEqual(b.subarray(0, 4), hex('0003 1234'));
  });
  void it('ackBlock reads only well-formed ACKs', () => {
    assert.equal(ackBlock(hex('0004 1234')), 0x1234);
    assert.equal(ackBlock(hex('0004 12')), -1);
    assert.equal(ackBlock(hex('0003 1234')), -1);
  });
  void it('tolerates NUL padding after a request, refuses other garbage with TFTP_MALFORMED', () => {
    assert.equal(decode(Buffer.from('\x00\x01f\0octet\0\0\0\0')).op, 'rrq');
    const bad = [hex(''), hex('00'), hex('0001'), Buffer.from('\x00\x01file'), Buffer.from('\x00\x01f\0octet'), Buffer.from('\x00\x01f\0octet\0blksize\0'),
      Buffer.from('\x00\x01f\0octet\0\0x'), hex('0003 00'), hex('0004 00'), hex('0005 00'), hex('0000'), hex('0007 0000'), hex('ffff')];
    for (const b of bad) {
      assert.throws(() => decode(b), (e) => isPxedError(e, 'TFTP_MALFORMED'), b.toString('hex'));
    }
  });
});

void describe('tftp codec on real firmware captures', () => {
  for (const name of ['uefi-pxe-tftp', 'bios-chain-tftp']) {
    void it(`${name}: golden text and round-trip`, () => {
      const lines = udpRecords(readPcap(path.join(fixtureDir, `${name}.pcap`))).map((r) => {
        const p = decode(r.payload);
        assert.deepEqual(encode(p), r.payload, `round-trip of packet ${r.index}`);
        assert.deepEqual(decode(encode(p)), p);
        return `${r.index} ${r.src}:${r.sport} > ${r.dst}:${r.dport} ${render(p)}`;
      });
      const golden = fs.readFileSync(path.join(fixtureDir, `${name}.golden`), 'utf8');
      assert.equal(lines.join('\n') + '\n', golden);
    });
  }
});

void describe('tftp codec fuzz', () => {
  void it('mutated capture packets and random bytes decode or throw TFTP_MALFORMED, never anything else', () => {
    const seeds = ['uefi-pxe-tftp', 'bios-chain-tftp'].flatMap((n) => udpRecords(readPcap(path.join(fixtureDir, `${n}.pcap`))).map((r) => r.payload));
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 20000; i++) {
      let b: Buffer;
      if (i % 2 === 0) {
        b = Buffer.from(seeds[rnd(seeds.length)]!.subarray(0, 80));
        for (let k = 0, n = 1 + rnd(4); k < n; k++) b[rnd(b.length)] = rnd(256);
        if (rnd(4) === 0) b = b.subarray(0, rnd(b.length + 1));
      } else {
        b = crypto.randomBytes(rnd(64));
        if (b.length >= 2 && rnd(2) === 0) b[0] = 0;
      }
      try {
        const p = decode(b);
        decode(encode(p));
      } catch (e) {
        assert.ok(isPxedError(e, 'TFTP_MALFORMED'), `unexpected error for ${b.toString('hex')}: ${String(e)}`);
      }
    }
  });
});
