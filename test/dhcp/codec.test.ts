// Codec tests on real firmware captures (golden text), round trips, hand-made edge cases and a 100 000-packet fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fixtures } from '../helpers/paths.js';
import { isPxedError } from '../../src/errors.js';
import {
  clientArchs,
  clientNdi,
  clientUuid,
  decode,
  encode,
  encodeUserClasses,
  ipxeOptions,
  maxMessageSize,
  messageType,
  MIN_REPLY_SIZE,
  OPT,
  pxeVendorOptions,
  relayAgentInfo,
  userClasses,
  type DhcpPacket,
} from '../../src/dhcp/codec.js';
import { renderPacket } from '../../src/dhcp/render.js';

const dir = fixtures('dhcp');
const bins = fs.readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();

function template(): DhcpPacket {
  return {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 0x12345678, secs: 0, flags: 0x8000,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: Buffer.concat([Buffer.from('525400770010', 'hex'), Buffer.alloc(10)]),
    sname: '', file: '', options: [{ code: OPT.MESSAGE_TYPE, data: Buffer.from([1]) }],
  };
}

void test('golden: every captured firmware packet decodes to the stored text', () => {
  assert.ok(bins.length >= 30, `expected the captured fixtures, found ${bins.length}`);
  for (const f of bins) {
    const text = renderPacket(decode(fs.readFileSync(`${dir}/${f}`)));
    const golden = `${dir}/${f.replace(/\.bin$/, '.golden.txt')}`;
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(golden, text);
    assert.equal(text, fs.readFileSync(golden, 'utf8'), f);
  }
});

void test('round trip: decode(encode(p)) equals p for every capture; replies are padded to 300 bytes', () => {
  for (const f of bins) {
    const p = decode(fs.readFileSync(`${dir}/${f}`));
    const wire = encode(p);
    assert.ok(wire.length >= MIN_REPLY_SIZE, f);
    assert.deepEqual(decode(wire), p, f);
  }
});

void test('typed accessors on the captured EDK2 and iPXE DISCOVERs', () => {
  const fw = decode(fs.readFileSync(`${dir}/uefi-pxe-01-fw-client-discover.bin`));
  assert.equal(messageType(fw), 1);
  assert.deepEqual(clientArchs(fw), [7]);
  assert.deepEqual(clientNdi(fw), { type: 1, major: 3, minor: 0 });
  assert.equal(maxMessageSize(fw), 1472);
  assert.deepEqual(userClasses(fw), []);
  const ipxe = decode(fs.readFileSync(`${dir}/bios-ipxe-01-ipxe-client-discover.bin`));
  assert.deepEqual(userClasses(ipxe), ['iPXE']); // plain string encoding (docs/protocol.md Q11)
  assert.ok((ipxeOptions(ipxe) ?? []).length > 0);
  const offer = decode(fs.readFileSync(`${dir}/bios-ipxe-02-ipxe-proxy-offer.bin`));
  assert.deepEqual(pxeVendorOptions(offer)?.map((s) => s.code), [6, 10]);
});

void test('option 77 in both encodings; 93 as a list; 97 lenient; 82 raw', () => {
  const p = template();
  p.options.push({ code: OPT.USER_CLASS, data: encodeUserClasses(['foo', 'pxed']) });
  p.options.push({ code: OPT.CLIENT_ARCH, data: Buffer.from('00070000', 'hex') });
  p.options.push({ code: OPT.CLIENT_UUID, data: Buffer.from('00' + '33221100554477668899aabbccddeeff', 'hex') });
  p.options.push({ code: OPT.RELAY_AGENT, data: Buffer.from('0104deadbeef', 'hex') });
  const d = decode(encode(p));
  assert.deepEqual(userClasses(d), ['foo', 'pxed']);
  assert.deepEqual(clientArchs(d), [7, 0]);
  assert.equal(clientUuid(d), '00112233-4455-6677-8899-aabbccddeeff');
  assert.equal(relayAgentInfo(d)?.toString('hex'), '0104deadbeef');
  p.options = [{ code: OPT.USER_CLASS, data: Buffer.from('iPXE') }, { code: OPT.CLIENT_UUID, data: Buffer.alloc(17) }];
  assert.deepEqual(userClasses(p), ['iPXE']);
  assert.equal(clientUuid(p), null);
  p.options = [{ code: OPT.CLIENT_ARCH, data: Buffer.from([0, 7, 1]) }];
  assert.throws(() => clientArchs(p), (e) => isPxedError(e, 'DHCP_MALFORMED'));
});

void test('RFC 3396 long options are split on encode and concatenated on decode', () => {
  const p = template();
  const long = Buffer.alloc(600, 0x41);
  p.options.push({ code: 120, data: long });
  const wire = encode(p);
  // three TLVs: 255 + 255 + 90
  assert.equal(wire.indexOf(Buffer.from([120, 255])), 240 + 3);
  assert.deepEqual(decode(wire), p);
});

void test('option overload (52): options in file and sname are merged in RFC 3396 order, 52 is dropped', () => {
  const wire = encode(template(), 0);
  const buf = Buffer.concat([wire.subarray(0, wire.length - 1), Buffer.from([52, 1, 3, 60, 3, 0x50, 0x58, 0x45, 0xff]), Buffer.alloc(20)]);
  Buffer.from([60, 3, 0x43, 0x6c, 0x69, 0xff]).copy(buf, 108); // file: continues 60
  Buffer.from([12, 2, 0x68, 0x31, 0xff]).copy(buf, 44); // sname: hostname
  const d = decode(buf);
  assert.equal(d.file, '');
  assert.equal(d.sname, '');
  assert.deepEqual(d.options.map((o) => o.code), [53, 60, 12]);
  assert.equal(d.options[1]!.data.toString(), 'PXECli');
  assert.deepEqual(decode(encode(d)), d);
});

void test('malformed input gives DHCP_MALFORMED naming what was read', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.alloc(100), /fixed header/],
    [Buffer.alloc(300), /magic cookie/],
    [Buffer.concat([encode(template(), 0).subarray(0, 243), Buffer.from([60, 9, 1])]), /option 60 value/],
  ];
  for (const [buf, re] of cases) {
    assert.throws(() => decode(buf), (e) => isPxedError(e, 'DHCP_MALFORMED') && re.test(String(e.details?.reading)));
  }
});

// Deterministic PRNG so that a failure is reproducible.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

void test('fuzz: 100 000 mutated and random packets give DHCP_MALFORMED or a packet, never another exception', () => {
  const seeds = bins.map((f) => fs.readFileSync(`${dir}/${f}`));
  const r = rng(0xc0ffee);
  let ok = 0;
  let bad = 0;
  for (let i = 0; i < 100_000; i++) {
    let buf: Buffer;
    if (i % 5 === 0) {
      buf = Buffer.alloc(Math.floor(r() * 600));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(r() * 256);
      if (buf.length >= 240 && r() < 0.7) buf.writeUInt32BE(0x63825363, 236);
    } else {
      const src = seeds[i % seeds.length]!;
      buf = Buffer.from(src.subarray(0, r() < 0.2 ? Math.floor(r() * src.length) : src.length));
      const flips = 1 + Math.floor(r() * 8);
      for (let k = 0; k < flips && buf.length > 0; k++) buf[240 + Math.floor(r() * Math.max(1, buf.length - 240))] = Math.floor(r() * 256);
      if (r() < 0.2) buf[Math.floor(r() * buf.length)] = 52;
    }
    try {
      const p = decode(buf);
      // The accessors the responder uses must fail the same clean way.
      for (const fn of [messageType, clientArchs, clientNdi, clientUuid, userClasses, ipxeOptions, pxeVendorOptions, maxMessageSize]) {
        try {
          fn(p);
        } catch (e) {
          if (!isPxedError(e, 'DHCP_MALFORMED')) throw e;
        }
      }
      assert.deepEqual(decode(encode(p)), p);
      ok++;
    } catch (e) {
      if (!isPxedError(e, 'DHCP_MALFORMED')) throw e;
      bad++;
    }
  }
  assert.equal(ok + bad, 100_000);
  assert.ok(ok > 1000 && bad > 1000, `ok=${ok} bad=${bad}`);
});
