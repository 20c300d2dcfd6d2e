import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeLan, type ProbeAnswer } from '../../src/doctor/lan.js';

const US = '10.9.0.2';
const plain: ProbeAnswer = {
  server: '10.9.0.1',
  from: '10.9.0.1:67',
  yiaddr: '10.9.0.50',
  nextServer: '0.0.0.0',
  bootFile: null,
  tftpServer: null,
  vendorClass: null,
  vendorOptions: null,
};

void test('judges who answers a PXE DISCOVER and whether it breaks pxed', () => {
  const rows: [ProbeAnswer[], 'proxy' | 'full', [string, string, RegExp][]][] = [
    [[plain], 'proxy', [['lan:10.9.0.1', 'ok', /without boot options/]]],
    [[plain], 'full', [['lan:10.9.0.1', 'fail', /dhcp\.mode full/]]],
    [[{ ...plain, bootFile: 'pxelinux.0', nextServer: '10.9.0.1' }], 'proxy', [['lan:10.9.0.1', 'fail', /boot file "pxelinux\.0", next-server 10\.9\.0\.1: firmware and iPXE boot that/]]],
    [[{ ...plain, tftpServer: 'tftp.lan' }], 'proxy', [['lan:10.9.0.1', 'fail', /option 66 "tftp\.lan"/]]],
    [[{ ...plain, nextServer: '10.9.0.1' }], 'proxy', [['lan:10.9.0.1', 'ok', /without boot options/]]],
    [[{ ...plain, vendorClass: 'PXEClient', vendorOptions: '060108ff' }], 'proxy', [['lan:10.9.0.1', 'fail', /option 43 \(PXE options, 4 bytes\)/]]],
    [[{ ...plain, yiaddr: '0.0.0.0', vendorClass: 'PXEClient' }], 'proxy', [['lan:10.9.0.1', 'fail', /another proxy-DHCP server/]]],
    [[{ ...plain, server: US, yiaddr: '0.0.0.0' }], 'proxy', [['lan', 'warn', /no DHCP server answered/]]],
    [[], 'full', [['lan', 'ok', /no other DHCP server/]]],
  ];
  for (const [answers, mode, want] of rows) {
    const got = judgeLan(answers, US, mode).map((c) => [c.id, c.status, c.summary] as const);
    assert.equal(got.length, want.length);
    want.forEach(([id, status, re], i) => {
      assert.equal(got[i]![0], id);
      assert.equal(got[i]![1], status);
      assert.match(got[i]![2], re);
    });
  }
  for (const c of judgeLan([{ ...plain, bootFile: 'x' }], US, 'proxy')) assert.match(c.fix ?? '', /dnsmasq: dhcp-boot/);
});
