// The e2e pcap reader on literal bytes: global header (both byte orders, µs and ns), Ethernet/IPv4/UDP/TCP and
// the BOOTP view, plus a truncated last record.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDhcp, dhcpPackets, parsePcap } from '../helpers/pcap.js';

function ipHeader(src: number[], dst: number[], protocol: number, payloadLen: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payloadLen, 2);
  h[8] = 64;
  h[9] = protocol;
  Buffer.from(src).copy(h, 12);
  Buffer.from(dst).copy(h, 16);
  return h;
}

function ethernet(payload: Buffer, etherType = 0x0800): Buffer {
  const e = Buffer.alloc(14);
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).copy(e, 0);
  Buffer.from([0x52, 0x54, 0x00, 0x77, 0x00, 0x02]).copy(e, 6);
  e.writeUInt16BE(etherType, 12);
  return Buffer.concat([e, payload]);
}

function udp(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const u = Buffer.alloc(8);
  u.writeUInt16BE(srcPort, 0);
  u.writeUInt16BE(dstPort, 2);
  u.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([u, payload]);
}

function bootpOffer(): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 2; // BOOTREPLY
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0x1304910a, 4);
  Buffer.from([10, 77, 0, 2]).copy(b, 20); // siaddr
  Buffer.from([0x52, 0x54, 0x00, 0x77, 0x00, 0x10]).copy(b, 28);
  b.write('undionly.kpxe', 108, 'latin1');
  b.writeUInt32BE(0x63825363, 236);
  const opts = Buffer.from([53, 1, 2, 54, 4, 10, 77, 0, 2, 0, 60, 9, ...Buffer.from('PXEClient'), 255]);
  return Buffer.concat([b, opts]);
}

function pcapFile(frames: Array<{ t: number; frame: Buffer }>, opts: { le: boolean; nanos: boolean }): Buffer {
  const w32 = (b: Buffer, v: number, off: number): number => (opts.le ? b.writeUInt32LE(v, off) : b.writeUInt32BE(v, off));
  const w16 = (b: Buffer, v: number, off: number): number => (opts.le ? b.writeUInt16LE(v, off) : b.writeUInt16BE(v, off));
  const g = Buffer.alloc(24);
  w32(g, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(g, 2, 4);
  w16(g, 4, 6);
  w32(g, 65535, 16);
  w32(g, 1, 20);
  const recs = frames.map(({ t, frame }) => {
    const h = Buffer.alloc(16);
    w32(h, Math.floor(t), 0);
    w32(h, Math.round((t % 1) * (opts.nanos ? 1e9 : 1e6)), 4);
    w32(h, frame.length, 8);
    w32(h, frame.length, 12);
    return Buffer.concat([h, frame]);
  });
  return Buffer.concat([g, ...recs]);
}

const offerFrame = ethernet(
  Buffer.concat([ipHeader([10, 77, 0, 2], [255, 255, 255, 255], 17, 8 + bootpOffer().length), udp(67, 68, bootpOffer())]),
);
const tcpPayload = Buffer.from('GET /boot.ipxe HTTP/1.1\r\n\r\n');
const tcpHeader = Buffer.alloc(20);
tcpHeader.writeUInt16BE(40000, 0);
tcpHeader.writeUInt16BE(8080, 2);
tcpHeader[12] = 5 << 4;
tcpHeader[13] = 0x18;
const tcpFrame = ethernet(
  Buffer.concat([ipHeader([10, 77, 0, 145], [10, 77, 0, 2], 6, 20 + tcpPayload.length), tcpHeader, tcpPayload]),
);
const arpFrame = ethernet(Buffer.alloc(28), 0x0806);

void describe('e2e pcap reader', () => {
  for (const le of [true, false]) {
    for (const nanos of [false, true]) {
      void it(`reads ${le ? 'little' : 'big'}-endian ${nanos ? 'ns' : 'µs'} files`, () => {
        const file = pcapFile(
          [
            { t: 1000.25, frame: offerFrame },
            { t: 1001.5, frame: tcpFrame },
            { t: 1002, frame: arpFrame },
          ],
          { le, nanos },
        );
        const pkts = parsePcap(file);
        assert.equal(pkts.length, 3);
        assert.ok(Math.abs(pkts[0]!.time - 1000.25) < 1e-6);
        assert.deepEqual(pkts[0]!.ipv4, { src: '10.77.0.2', dst: '255.255.255.255', protocol: 17 });
        assert.equal(pkts[0]!.udp?.srcPort, 67);
        assert.equal(pkts[1]!.tcp?.dstPort, 8080);
        assert.equal(pkts[1]!.tcp?.payload.toString(), tcpPayload.toString());
        assert.equal(pkts[2]!.etherType, 0x0806);
        assert.equal(pkts[2]!.ipv4, undefined);
        const dhcp = dhcpPackets(pkts);
        assert.equal(dhcp.length, 1);
        assert.equal(dhcp[0]!.dhcp.type, 'OFFER');
      });
    }
  }

  void it('drops a truncated last record', () => {
    const file = pcapFile([{ t: 1, frame: offerFrame }], { le: true, nanos: false });
    assert.equal(parsePcap(file.subarray(0, file.length - 5)).length, 0);
  });

  void it('rejects a file that is not pcap', () => {
    assert.throws(() => parsePcap(Buffer.alloc(24)), /bad magic/);
  });

  void it('decodes the BOOTP fields and options', () => {
    const d = decodeDhcp(bootpOffer());
    assert.ok(d);
    assert.equal(d.xid, 0x1304910a);
    assert.equal(d.siaddr, '10.77.0.2');
    assert.equal(d.chaddr, '52:54:00:77:00:10');
    assert.equal(d.file, 'undionly.kpxe');
    assert.equal(d.options.get(60)?.toString(), 'PXEClient');
    assert.equal(decodeDhcp(Buffer.alloc(100)), null);
  });
});
