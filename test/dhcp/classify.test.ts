// classifyClient table tests: every option-93 value in docs/protocol.md §4.1, the fallbacks, iPXE detection and captures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fixtures } from '../helpers/paths.js';
import { decode, encodeUserClasses, OPT, type DhcpPacket } from '../../src/dhcp/codec.js';
import { classifyClient, matchVendorPrefix } from '../../src/dhcp/classify.js';
import type { Firmware } from '../../src/model/client.js';

function pkt(opts: [number, Buffer][]): DhcpPacket {
  return {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 1, secs: 0, flags: 0,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: Buffer.concat([Buffer.from('52540077AB10', 'hex'), Buffer.alloc(10)]),
    sname: '', file: '',
    options: [[53, Buffer.from([1])] as [number, Buffer], ...opts].map(([code, data]) => ({ code, data })),
  };
}
const u16 = (...v: number[]): Buffer => Buffer.concat(v.map((n) => Buffer.from([n >> 8, n & 255])));
const vc = (s: string): [number, Buffer] => [OPT.VENDOR_CLASS, Buffer.from(s)];

// [option 93, expected arch, expected firmware]; docs/protocol.md §4.1 row by row.
const TABLE: [number, number, Firmware][] = [
  [0, 0, 'bios'],
  [1, 1, 'unsupported'], [2, 2, 'unsupported'], [3, 3, 'unsupported'], [4, 4, 'unsupported'], [5, 5, 'unsupported'],
  [6, 6, 'efi-ia32'],
  [7, 7, 'efi-x64'],
  [8, 8, 'unsupported'],
  [9, 7, 'efi-x64'], // errata 4624 / docs/protocol.md Q15
  [10, 10, 'efi-arm32'],
  [11, 11, 'efi-arm64'],
  [12, 12, 'unsupported'], [13, 13, 'unsupported'], [14, 14, 'unsupported'],
  [15, 15, 'efi-ia32-http'],
  [16, 16, 'efi-x64-http'],
  [17, 16, 'efi-x64-http'], // EBC HTTP, served like 9 -> 7
  [18, 18, 'efi-arm32-http'],
  [19, 19, 'efi-arm64-http'],
  [20, 20, 'unsupported'],
  [21, 21, 'unsupported'], [22, 22, 'unsupported'], [23, 23, 'unsupported'], [24, 24, 'unsupported'],
  [25, 25, 'unsupported'], [26, 26, 'unsupported'],
  [27, 27, 'efi-riscv64'],
  [28, 28, 'efi-riscv64-http'],
  [29, 29, 'unsupported'], [30, 30, 'unsupported'],
  [31, 31, 'unsupported'], [32, 32, 'unsupported'], [33, 33, 'unsupported'], [34, 34, 'unsupported'],
  [35, 35, 'unsupported'], [36, 36, 'unsupported'],
  [37, 37, 'unsupported'], [38, 38, 'unsupported'], [39, 39, 'unsupported'], [40, 40, 'unsupported'],
  [41, 41, 'unsupported'],
  [0x1234, 0x1234, 'unsupported'],
];

void test('every option-93 value of docs/protocol.md §4.1 maps to the expected arch and firmware', () => {
  for (const [a, arch, firmware] of TABLE) {
    const c = classifyClient(pkt([[OPT.CLIENT_ARCH, u16(a)], vc('PXEClient')]));
    assert.deepEqual({ a, arch: c.arch, firmware: c.firmware }, { a, arch, firmware });
  }
});

void test('93 lists: the first known value wins; unknown-only lists report the first value', () => {
  assert.equal(classifyClient(pkt([[OPT.CLIENT_ARCH, u16(2, 11, 7)]])).firmware, 'efi-arm64');
  const c = classifyClient(pkt([[OPT.CLIENT_ARCH, u16(3, 4)]]));
  assert.deepEqual([c.arch, c.firmware], [3, 'unsupported']);
});

void test('without 93: Arch:NNNNN from option 60, else 0', () => {
  assert.equal(classifyClient(pkt([vc('PXEClient:Arch:00011:UNDI:003000')])).firmware, 'efi-arm64');
  assert.equal(classifyClient(pkt([vc('PXEClient:Arch:00009:UNDI:003000')])).arch, 7);
  assert.equal(classifyClient(pkt([vc('PXEClient')])).firmware, 'bios');
  assert.equal(classifyClient(pkt([])).arch, 0);
});

void test('HTTPClient: http firmware, also when 93 carries a PXE value', () => {
  const c = classifyClient(pkt([[OPT.CLIENT_ARCH, u16(16)], vc('HTTPClient:Arch:00016:UNDI:003000')]));
  assert.deepEqual([c.firmware, c.isHttpClient, c.isIpxe], ['efi-x64-http', true, false]);
  assert.equal(classifyClient(pkt([[OPT.CLIENT_ARCH, u16(11)], vc('HTTPClient')])).firmware, 'efi-arm64-http');
});

void test('iPXE detection: 77 plain or RFC 3004, 175 alone, our own user-class', () => {
  assert.equal(classifyClient(pkt([[OPT.USER_CLASS, Buffer.from('iPXE')]])).isIpxe, true);
  assert.equal(classifyClient(pkt([[OPT.USER_CLASS, encodeUserClasses(['x', 'iPXE'])]])).isIpxe, true);
  assert.equal(classifyClient(pkt([[OPT.IPXE, Buffer.from('130101', 'hex')]])).isIpxe, true);
  const ours = classifyClient(pkt([[OPT.USER_CLASS, Buffer.from('pxed')]]));
  assert.deepEqual([ours.isIpxe, ours.isOurIpxe], [true, true]);
  const custom = classifyClient(pkt([[OPT.USER_CLASS, Buffer.from('lab1')]]), { ourUserClass: 'lab1' });
  assert.equal(custom.isOurIpxe, true);
  assert.equal(classifyClient(pkt([[OPT.USER_CLASS, Buffer.from('foo')]])).isIpxe, false);
});

void test('mac is lower-case colon form; uuid and vendor class are reported', () => {
  const c = classifyClient(pkt([[OPT.CLIENT_UUID, Buffer.from('00' + '00112233445566778899aabbccddeeff', 'hex')], vc('PXEClient:x')]));
  assert.equal(c.mac, '52:54:00:77:ab:10');
  assert.equal(c.uuid, '33221100-5544-7766-8899-aabbccddeeff');
  assert.equal(c.vendorClass, 'PXEClient:x');
});

void test('vendor prefixes: case-sensitive, configurable, first match returned', () => {
  assert.equal(matchVendorPrefix(pkt([vc('PXEClient:Arch:00000')])), 'PXEClient');
  assert.equal(matchVendorPrefix(pkt([vc('pxeclient')])), null);
  assert.equal(matchVendorPrefix(pkt([vc('AAPLBSDPC/i386')])), null);
  assert.equal(matchVendorPrefix(pkt([vc('HW-Client:1')]), ['PXEClient', 'HW-Client']), 'HW-Client');
  assert.equal(matchVendorPrefix(pkt([])), null);
});

void test('captured firmware packets classify as expected', () => {
  const cases: [string, Partial<Record<string, unknown>>][] = [
    ['uefi-pxe-01-fw-client-discover.bin', { firmware: 'efi-x64', isIpxe: false, arch: 7 }],
    ['uefi-pxe-08-ipxe-client-discover.bin', { firmware: 'efi-x64', isIpxe: true }],
    ['bios-chain-01-ipxe-client-discover.bin', { firmware: 'bios', isIpxe: true, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' }],
    ['bios-chain-06-ipxe-client-discover.bin', { firmware: 'bios', isIpxe: true, vendorClass: 'PXEClient' }],
  ];
  for (const [f, want] of cases) {
    const c = classifyClient(decode(fs.readFileSync(fixtures('dhcp', f)))) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) assert.equal(c[k], v, `${f} ${k}`);
    assert.equal(c.mac, '52:54:00:77:00:10');
  }
});
