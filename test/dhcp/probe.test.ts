// probeDhcp (src/dhcp/probe.ts), the helper full mode and `pxed doctor` share: one PXE DISCOVER from the client's
// namespace, and every server that answers with what it would boot. The LAN has dnsmasq (an address server) and
// pxed in proxy mode; both must be reported, each with its own boot options.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killGroup } from '../helpers/netns.js';
import type { ProbeAnswer } from '../../src/dhcp/probe.js';
import { makeLab, startLanDhcp, startResponder, type Lab } from './helpers/lab.js';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'probe-main.js');
let lab: Lab;

before(() => {
  lab = makeLab();
});

after(async () => {
  await lab?.destroy();
});

void test('probeDhcp reports the LAN server and the PXE proxy with their boot options, within its time bound', async () => {
  const lan = await startLanDhcp(lab);
  const pxed = await startResponder(lab.server, { interface: 'eth0', registered: { '*': { strategy: 'direct' } } });
  try {
    const address = lab.client.exec('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0']).match(/inet (\S+)\//)![1]!;
    const t0 = Date.now();
    const out = lab.client.exec(process.execPath, [PROBE, JSON.stringify({ address, timeoutMs: 2500 })]);
    const elapsed = Date.now() - t0;
    const answers = JSON.parse(out) as ProbeAnswer[];
    const byServer = new Map(answers.map((a) => [a.server, a]));
    const proxy = byServer.get('10.77.0.2');
    assert.ok(proxy, `pxed answered: ${out}`);
    assert.equal(proxy.yiaddr, '0.0.0.0');
    assert.equal(proxy.nextServer, '10.77.0.2');
    assert.equal(proxy.vendorClass, 'PXEClient');
    assert.equal(proxy.vendorOptions, '060108ff');
    assert.equal(proxy.bootFile, 'x86_64/snponly.efi');
    const router = byServer.get('10.77.0.1');
    assert.ok(router, `the LAN server answered: ${out}`);
    assert.notEqual(router.yiaddr, '0.0.0.0');
    assert.ok(elapsed < 6000, `bounded: ${elapsed} ms`);
  } finally {
    await pxed.stop();
    await killGroup(lan);
  }
});
