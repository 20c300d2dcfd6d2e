// Reply builders against docs/protocol.md's byte-level example (§9.3) and the captured dnsmasq replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fixtures } from '../helpers/paths.js';
import { decode, encode, getOption, OPT, type DhcpPacket } from '../../src/dhcp/codec.js';
import { classifyClient } from '../../src/dhcp/classify.js';
import { buildBootServerAck, buildLeaseReply, buildProxyOffer, ProxyOfferEncoder } from '../../src/dhcp/reply.js';
import type { DhcpBootAnswer } from '../../src/dhcp/ports.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const fx = (f: string): DhcpPacket => decode(fs.readFileSync(fixtures('dhcp', f)));

// docs/protocol.md §9.1: the google/netboot BIOS DISCOVER (548 bytes).
function biosDiscover(): Buffer {
  const b = Buffer.alloc(548);
  hex('01 01 06 00 9b 4e 05 57 00 08 80 00').copy(b, 0);
  hex('d0 50 99 4e 05 57').copy(b, 28);
  hex(`63 82 53 63 35 01 01 37 24 01 02 03 04 05 06 0b 0c 0d 0f 10 11 12 16 17 1c 28 29 2a 2b 32 33 36 3a 3b 3c 42
       43 80 81 82 83 84 85 86 87 39 02 04 ec 61 11 00 00 02 00 03 00 04 00 05 00 06 00 07 00 08 00 09
       5d 02 00 00 5e 03 01 02 01 3c 20 50 58 45 43 6c 69 65 6e 74 3a 41 72 63 68 3a 30 30 30 30 30 3a
       55 4e 44 49 3a 30 30 32 30 30 31 ff`).copy(b, 236);
  return b;
}

// docs/protocol.md §9.3: the recommended BIOS proxy OFFER (302 bytes).
function expectedBiosOffer(): Buffer {
  const b = Buffer.alloc(302);
  hex('02 01 06 00 9b 4e 05 57 00 00 80 00').copy(b, 0);
  hex('c0 a8 10 0a').copy(b, 20);
  hex('d0 50 99 4e 05 57').copy(b, 28);
  Buffer.from('192.168.16.10').copy(b, 44);
  Buffer.from('undionly.kpxe').copy(b, 108);
  hex(`63 82 53 63 35 01 02 36 04 c0 a8 10 0a 3c 09 50 58 45 43 6c 69 65 6e 74 61 11 00 00 02 00 03 00 04 00 05 00
       06 00 07 00 08 00 09 2b 04 06 01 08 ff 43 0e 75 6e 64 69 6f 6e 6c 79 2e 6b 70 78 65 00 ff`).copy(b, 236);
  return b;
}

void test('BIOS proxy OFFER is byte-identical to docs/protocol.md §9.3', () => {
  const req = decode(biosDiscover());
  const client = classifyClient(req);
  const answer: DhcpBootAnswer = { bootFile: 'undionly.kpxe', nextServer: '192.168.16.10', strategy: 'binl' };
  const wire = encode(buildProxyOffer(req, { client, vendorPrefix: 'PXEClient', answer }, '192.168.16.10'));
  assert.equal(wire.toString('hex'), expectedBiosOffer().toString('hex'));
});

void test('UEFI x64 OFFER: BINL has no 43, direct has 43 {6:8}; both broadcast-flagged with yiaddr 0', () => {
  const req = fx('uefi-pxe-01-fw-client-discover.bin');
  const client = classifyClient(req);
  const base = { bootFile: 'snponly.efi', nextServer: '10.77.0.2' };
  const binl = buildProxyOffer(req, { client, vendorPrefix: 'PXEClient', answer: { ...base, strategy: 'binl' } }, '10.77.0.2');
  assert.equal(getOption(binl, OPT.VENDOR), null);
  assert.deepEqual([binl.yiaddr, binl.siaddr, binl.flags, binl.file, binl.sname], ['0.0.0.0', '10.77.0.2', 0x8000, 'snponly.efi', '10.77.0.2']);
  assert.deepEqual(binl.options.map((o) => o.code), [53, 54, 60, 97, 67]); // EDK2 lists 67 in its 55
  assert.equal(getOption(binl, OPT.BOOTFILE)?.toString(), 'snponly.efi\0');
  const direct = buildProxyOffer(req, { client, vendorPrefix: 'PXEClient', answer: { ...base, strategy: 'direct' } }, '10.77.0.2');
  assert.equal(getOption(direct, OPT.VENDOR)?.toString('hex'), '060108ff');
  // Same header fields as dnsmasq's captured offer for this DISCOVER.
  const dnsmasq = fx('uefi-pxe-02-fw-proxy-offer.bin');
  for (const k of ['xid', 'flags', 'ciaddr', 'yiaddr', 'siaddr', 'giaddr'] as const) assert.equal(binl[k], dnsmasq[k], k);
  assert.ok(encode(binl).length >= 300);
});

void test('HTTPClient OFFER echoes HTTPClient, carries the URL, no 43', () => {
  const req = fx('uefi-pxe-01-fw-client-discover.bin');
  req.options = req.options.map((o) => (o.code === OPT.VENDOR_CLASS ? { code: o.code, data: Buffer.from('HTTPClient:Arch:00016:UNDI:003000') } : o.code === OPT.CLIENT_ARCH ? { code: o.code, data: hex('0010') } : o));
  const client = classifyClient(req);
  const url = 'http://10.77.0.2/boot/x86_64/snponly.efi';
  const r = buildProxyOffer(req, { client, vendorPrefix: 'HTTPClient', answer: { bootFile: url, nextServer: '10.77.0.2', strategy: 'direct' } }, '10.77.0.2');
  assert.equal(getOption(r, OPT.VENDOR_CLASS)?.toString(), 'HTTPClient');
  assert.equal(getOption(r, OPT.VENDOR), null);
  assert.equal(r.file, url);
});

void test('97 is echoed only when sent (17 bytes); 82 is echoed last; relayed giaddr echoed', () => {
  const req = fx('uefi-pxe-01-fw-client-discover.bin');
  req.options = req.options.filter((o) => o.code !== OPT.CLIENT_UUID);
  req.options.push({ code: OPT.RELAY_AGENT, data: hex('0104cafebabe') });
  req.giaddr = '10.99.0.1';
  const r = buildProxyOffer(req, { client: classifyClient(req), vendorPrefix: 'PXEClient', answer: { bootFile: 'a.efi', nextServer: '10.77.0.2', strategy: 'binl' } }, '10.77.0.2');
  assert.equal(getOption(r, OPT.CLIENT_UUID), null);
  assert.equal(r.options.at(-1)?.code, OPT.RELAY_AGENT);
  assert.equal(r.giaddr, '10.99.0.1');
});

void test('a boot file longer than 127 bytes goes into option 67 only', () => {
  const req = decode(biosDiscover());
  req.options = req.options.filter((o) => o.code !== OPT.PARAM_REQUEST);
  const long = 'http://10.77.0.2:8080/' + 'x'.repeat(200);
  const r = buildProxyOffer(req, { client: classifyClient(req), vendorPrefix: 'PXEClient', answer: { bootFile: long, nextServer: '10.77.0.2', strategy: 'binl' } }, '10.77.0.2');
  assert.equal(r.file, '');
  assert.equal(getOption(decode(encode(r)), OPT.BOOTFILE)?.toString(), long + '\0');
});

void test('4011 ACK matches the captured dnsmasq ACK in every field pxed shares with it', () => {
  const req = fx('uefi-pxe-06-fw-client-request-4011.bin');
  const r = buildBootServerAck(req, { client: classifyClient(req), vendorPrefix: 'PXEClient', answer: { bootFile: 'snponly.efi', nextServer: '10.77.0.2', strategy: 'direct' } }, '10.77.0.2');
  const dnsmasq = fx('uefi-pxe-07-fw-proxy-ack-4011.bin');
  for (const k of ['op', 'xid', 'flags', 'ciaddr', 'yiaddr', 'siaddr', 'giaddr', 'sname', 'file'] as const) assert.deepEqual(r[k], dnsmasq[k], k);
  assert.deepEqual(r.chaddr, dnsmasq.chaddr);
  for (const code of [53, 54, 60, 97]) assert.deepEqual(getOption(r, code), getOption(dnsmasq, code), `option ${code}`);
  assert.equal(getOption(r, OPT.VENDOR), null); // never 43 on 4011, even with 'direct'
});

void test('full-mode OFFER/ACK: address options plus the PXE boot options; 175 no-pxedhcp for iPXE; NAK is bare', () => {
  const req = fx('bios-ipxe-01-ipxe-client-discover.bin');
  const boot = { client: classifyClient(req), vendorPrefix: 'PXEClient', answer: { bootFile: 'http://10.77.0.2:8080/boot.ipxe', nextServer: '10.77.0.2', strategy: 'binl' as const } };
  const r = buildLeaseReply(req, { type: 5, yiaddr: '10.77.0.100', serverAddress: '10.77.0.2', leaseSeconds: 600, network: { subnetMask: '255.255.255.0', router: '10.77.0.1', dns: ['10.77.0.1'], domain: 'lab' }, hostname: 'n1', boot });
  assert.deepEqual(r.options.map((o) => o.code), [53, 54, 51, 58, 59, 1, 3, 6, 15, 12, 60, 97, 43, 175, 67]);
  assert.equal(getOption(r, OPT.IPXE)?.toString('hex'), 'b00101');
  assert.equal(r.yiaddr, '10.77.0.100');
  const nak = buildLeaseReply(req, { type: 6, yiaddr: '0.0.0.0', serverAddress: '10.77.0.2', message: 'no' });
  assert.deepEqual(nak.options.map((o) => o.code), [53, 54, 56]);
});

void test('ProxyOfferEncoder: byte-identical to encode(buildProxyOffer) for every capture, answer and per-request field', () => {
  const requests = fs.readdirSync(fixtures('dhcp')).filter((f) => /client-(discover|request)/.test(f) && f.endsWith('.bin')).map(fx);
  requests.push(decode(biosDiscover()));
  const answers: DhcpBootAnswer[] = [
    { bootFile: 'undionly.kpxe', nextServer: '10.77.0.2', strategy: 'binl' },
    { bootFile: 'snponly.efi', nextServer: '10.77.0.2', strategy: 'binl' },
    { bootFile: 'snponly.efi', nextServer: '10.77.0.2', strategy: 'direct' },
    { bootFile: 'x86_64/ipxe.efi', nextServer: '10.77.0.3', strategy: 'binl' },
    { bootFile: 'http://10.77.0.2:8080/boot.ipxe', nextServer: '10.77.0.2', strategy: 'direct' },
    { bootFile: 'http://10.77.0.2:8080/' + 'y'.repeat(150), nextServer: '10.77.0.2', strategy: 'binl' },
  ];
  const enc = new ProxyOfferEncoder(4); // small, so that templates are also evicted and rebuilt
  let n = 0;
  for (let round = 0; round < 3; round++) {
    for (const [i, base] of requests.entries()) {
      for (const answer of answers) {
        for (const variant of ['as captured', 'no 97', 'no 55', 'short chaddr', 'relayed']) {
          const req: DhcpPacket = { ...base, options: [...base.options], chaddr: Buffer.from(base.chaddr) };
          req.xid = (0x1000 * round + 16 * i + n) >>> 0;
          req.chaddr[5] = n & 0xff;
          req.options = req.options.map((o) => (o.code === OPT.CLIENT_UUID && o.data.length === 17 ? { code: o.code, data: Buffer.concat([o.data.subarray(0, 16), Buffer.from([n & 0xff])]) } : o));
          if (variant === 'no 97') req.options = req.options.filter((o) => o.code !== OPT.CLIENT_UUID);
          if (variant === 'no 55') req.options = req.options.filter((o) => o.code !== OPT.PARAM_REQUEST);
          if (variant === 'short chaddr') req.chaddr = req.chaddr.subarray(0, 6);
          if (variant === 'relayed') {
            req.giaddr = '10.99.0.1';
            req.options.push({ code: OPT.RELAY_AGENT, data: hex('0104cafebabe') });
          }
          for (const vendorPrefix of ['PXEClient', 'HTTPClient']) {
            const parts = { client: classifyClient(req), vendorPrefix, answer };
            const want = encode(buildProxyOffer(req, parts, '10.77.0.2')).toString('hex');
            assert.equal(enc.encode(req, parts, '10.77.0.2').toString('hex'), want, `${variant} ${answer.bootFile} ${vendorPrefix}`);
            n++;
          }
        }
      }
    }
  }
  assert.ok(n > 500, `${n} offers compared`);
});
