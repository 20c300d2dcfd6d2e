// The stage function on timelines the real BootPolicy records (fresh in-memory registry, settable clock): one row
// per place a netboot can stop, plus the sentences operators read.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventSentence, type TimelineEvent } from '../../src/model/sentences.js';
import { stageView, type StageView } from '../../src/model/stage.js';
import { MAC, client, query, rig, tokenOf, type Rig } from '../boot/fixtures.js';

const IP = '10.77.0.50';
type Step = (r: Rig, token: () => string) => unknown;

const proxyOffer: Step = (r) => r.policy.dhcpBoot(query(client('efi-x64'), 'proxy-offer'));
const ack4011: Step = (r) => r.policy.dhcpBoot(query(client('efi-x64'), 'proxy-ack-4011'));
const tftp = (outcome: string): Step => (r) => {
  r.policy.macForIp(IP); // learned from the lease below
  r.policy.tftpTransferred({ client: { address: IP, port: 1234 } as never, path: 'snponly.efi', options: { blksize: '1468' }, bytes: 1_100_000, durationMs: 400, outcome });
};
const ipxeDhcp: Step = (r) => r.policy.dhcpBoot(query(client('efi-x64', { isIpxe: true, isOurIpxe: true }), 'dhcp-ack'));
const script: Step = (r) => r.policy.machineScript({ mac: MAC, query: { buildarch: 'x86_64', platform: 'efi' }, clientAddress: IP }).body;
const kernel: Step = (r) => r.policy.assetServed(IP, 'ubuntu/24.04/vmlinuz', 15_000_000, 200);
const userData: Step = (r, t) => r.policy.tokenArtifact({ family: 'nocloud', token: t(), name: 'user-data', clientAddress: IP });
const progress: Step = (r, t) =>
  r.policy.phoneHome({ token: t(), body: { event_type: 'finish', name: 'subiquity/Install/install/curtin partitioning', result: 'SUCCESS', origin: 'curtin' }, clientAddress: IP });
const done: Step = (r, t) => r.policy.phoneHome({ token: t(), body: { event_type: 'finish', name: 'subiquity/Late/run', result: 'SUCCESS' }, clientAddress: IP });
const failReport: Step = (r, t) => r.policy.phoneHome({ token: t(), body: { status: 'failed', detail: 'disk full' }, clientAddress: IP });
const minutes = (m: number): Step => (r) => r.clock.advanceMinutes(m);
const watchdog: Step = (r) => r.watchdog.check();
const configured: Step = (r) => r.registry.machineTransition(MAC, 'configured', 'post-install done');
const postStart: Step = (r) => r.registry.machineTransition(MAC, 'post-installing', 'post-install started');
const postFail: Step = (r) => r.registry.machineTransition(MAC, 'failed', 'post-install failed: unreachable');

/** Registers MAC for ubu1 (with a lease for IP so TFTP/assets map to it), runs the steps, returns the view. */
function drive(steps: Step[], host = 'ubu1'): { view: StageView; r: Rig } {
  const r = rig();
  r.admin.create({ mac: MAC, host });
  r.registry.leaseUpsert({ ip: IP, mac: MAC, hostname: null, state: 'bound', expiresAt: '2030-01-01T00:00:00.000Z', updatedAt: '2026-11-25T12:00:00.000Z' });
  let tok: string | null = null;
  for (const s of steps) {
    const out = s(r, () => tok ?? assert.fail('no token yet'));
    if (s === script) tok = tokenOf(String(out));
    r.clock.t += 1500;
  }
  const m = r.registry.machineGet(MAC)!;
  return { view: stageView(r.registry.eventList(MAC), m.state), r };
}

const W = [minutes(31), watchdog];
const rows: { name: string; steps: Step[]; stage: string | null; status: string; hint: RegExp | null }[] = [
  { name: 'registered, never booted', steps: [], stage: 'dhcp', status: 'idle', hint: null },
  { name: 'proxy offer sent, then silence', steps: [proxyOffer, ...W], stage: 'boot-file', status: 'stalled', hint: /proxy offer sent, no TFTP request.*options 66\/67/ },
  { name: 'TFTP aborted', steps: [proxyOffer, ack4011, tftp('timeout'), ...W], stage: 'boot-file', status: 'stalled', hint: /TFTP transfer .* did not complete/ },
  { name: 'TFTP done, iPXE never asked for its script', steps: [proxyOffer, ack4011, tftp('complete'), ...W], stage: 'ipxe-script', status: 'stalled', hint: /never fetched its script/ },
  { name: 'iPXE DHCP seen, no script', steps: [proxyOffer, ipxeDhcp, ...W], stage: 'ipxe-script', status: 'stalled', hint: /never fetched its script/ },
  { name: 'script but no kernel', steps: [proxyOffer, tftp('complete'), script, ...W], stage: 'kernel-initrd', status: 'stalled', hint: /no kernel\/initrd/ },
  { name: 'kernel but never user-data', steps: [proxyOffer, tftp('complete'), script, kernel, ...W], stage: 'installer-config', status: 'stalled', hint: /installer never fetched user-data.*RAM ≥ 6 GiB/ },
  { name: 'user-data, no progress', steps: [proxyOffer, tftp('complete'), script, kernel, userData, ...W], stage: 'installer-progress', status: 'stalled', hint: /never reported progress/ },
  { name: 'progress then silence', steps: [proxyOffer, tftp('complete'), script, kernel, userData, progress, ...W], stage: 'installed', status: 'stalled', hint: /never finished/ },
  { name: 'installer reported failure', steps: [proxyOffer, tftp('complete'), script, kernel, userData, failReport], stage: 'installer-progress', status: 'failed', hint: /reported a failure .*disk full/ },
  { name: 'running: kernel fetched', steps: [proxyOffer, tftp('complete'), script, kernel], stage: 'installer-config', status: 'running', hint: null },
  { name: 'installed', steps: [proxyOffer, tftp('complete'), script, kernel, userData, progress, done], stage: 'post-install', status: 'running', hint: null },
  { name: 'post-install running', steps: [proxyOffer, tftp('complete'), script, kernel, userData, progress, done, postStart], stage: 'post-install', status: 'running', hint: null },
  { name: 'post-install failed', steps: [proxyOffer, tftp('complete'), script, kernel, userData, progress, done, postStart, postFail], stage: 'post-install', status: 'failed', hint: /post-install configuration failed \(installed → failed|post-installing → failed/ },
  { name: 'configured', steps: [proxyOffer, tftp('complete'), script, kernel, userData, progress, done, configured], stage: null, status: 'done', hint: null },
];

void describe('stageView on real policy timelines', () => {
  for (const row of rows) {
    void it(row.name, () => {
      const { view, r } = drive(row.steps);
      try {
        assert.equal(view.stage, row.stage, JSON.stringify(view.boots, null, 1));
        assert.equal(view.status, row.status);
        if (row.hint === null) assert.equal(view.hint, null);
        else assert.match(view.hint ?? '', row.hint);
        const marked = view.bar.filter((b) => b.status !== 'done' && b.status !== 'pending');
        assert.equal(marked.length, row.stage === null ? 0 : 1);
        if (row.stage !== null) assert.equal(marked[0]!.stage, row.stage);
      } finally {
        r.close();
      }
    });
  }

  void it('groups boots: a reinstall starts a new boot, and the sentences read like the issue', () => {
    const { r } = drive([proxyOffer, tftp('complete'), script, kernel, userData, progress, minutes(8), done]);
    try {
      r.admin.reinstall(MAC);
      proxyOffer(r, () => '');
      const view = stageView(r.registry.eventList(MAC), r.registry.machineGet(MAC)!.state);
      assert.equal(view.boots.length, 2);
      const text = view.boots[0]!.lines.map((l) => l.text);
      assert.ok(text.includes('proxy offer: UEFI x64, binl → snponly.efi'), text.join('\n'));
      assert.ok(text.includes('TFTP snponly.efi 1.1 MB in 0.4 s'), text.join('\n'));
      assert.ok(text.includes('iPXE script: ubuntu install'), text.join('\n'));
      assert.ok(text.some((t) => /^installer fetched user-data \(/.test(t)), text.join('\n'));
      assert.ok(text.includes('Subiquity: subiquity/Install/install/curtin partitioning finish … ok'), text.join('\n'));
      assert.ok(text.some((t) => /^installed in 8 m \d+ s/.test(t)), text.join('\n'));
      assert.equal(view.stage, 'boot-file');
      assert.equal(view.status, 'running');
    } finally {
      r.close();
    }
  });

  void it('a discovered machine hints at adopting it; its vendor class is kept as recorded', () => {
    const r = rig({ unknownMacs: 'discover' });
    try {
      r.policy.dhcpBoot(query(client('efi-x64', { vendorClass: '<script>x</script>\u001b[31m\u0007' })));
      const m = r.registry.machineGet(MAC)!;
      const view = stageView(r.registry.eventList(MAC), m.state);
      assert.equal(view.status, 'idle');
      assert.match(view.hint ?? '', /adopt it/);
      const line = view.boots[0]!.lines.find((l) => l.kind === 'discovered')!;
      // Recorded text as it came (the CLI escapes control characters when it prints, the page when it shows them).
      assert.equal(line.text, 'discovered: UEFI x64, vendor class <script>x</script>\u001b[31m\u0007');
    } finally {
      r.close();
    }
  });

  void it('a signed Secure Boot chain that stopped after GRUB names what refused the next loader', () => {
    const t = (i: number): string => new Date(Date.UTC(2026, 10, 25, 12, 0, i)).toISOString();
    const tftp = (i: number, path: string, secureBootStage: string): TimelineEvent => ({
      id: i, mac: MAC, time: t(i), kind: 'tftp',
      detail: { path, bytes: 1000, durationMs: 10, outcome: 'complete', client: '10.77.0.50:1000', secureBootStage },
    });
    const events: TimelineEvent[] = [
      { id: 1, mac: MAC, time: t(1), kind: 'state', detail: { from: null, to: 'registered', reason: 'created' } },
      { id: 2, mac: MAC, time: t(2), kind: 'dhcp-offer', detail: { stage: 'proxy-offer', xid: 1, arch: 7, firmware: 'efi-x64', ipxe: false, strategy: 'binl', bootFile: 'shimx64.efi' } },
      tftp(3, 'shimx64.efi', 'shim'),
      tftp(4, 'grubx64.efi', 'grub'),
      { id: 5, mac: MAC, time: t(5), kind: 'state', detail: { from: 'booting', to: 'stalled', reason: 'watchdog' } },
    ];
    const view = stageView(events, 'stalled');
    assert.equal(view.stage, 'ipxe-script');
    assert.match(view.hint ?? '', /^stopped after the shim fetched GRUB: the shim refused GRUB/);
    const grubCfg: TimelineEvent = { id: 6, mac: MAC, time: t(6), kind: 'grub-cfg', detail: { variant: 'install', client: '10.77.0.50', os: 'ubuntu' } };
    assert.equal(eventSentence(grubCfg), 'GRUB config: ubuntu install');
    assert.equal(stageView([...events.slice(0, 4), grubCfg, tftp(7, 'pxed/assets/ubuntu/24.04/vmlinuz', 'kernel')], 'booting').stage, 'installer-config');
  });

  void it('describes unknown kinds and hostile details without throwing', () => {
    const odd = eventSentence({ id: 1, mac: MAC, time: 'bad', kind: 'x-new-kind', detail: { path: 5, bytes: 'no' } });
    assert.equal(odd, 'x-new-kind');
    for (const kind of ['dhcp-offer', 'tftp', 'ipxe-script', 'asset', 'artifact', 'phone-home', 'token', 'error', 'state', 'discovered']) {
      const ev: TimelineEvent = { id: 1, mac: MAC, time: 'bad', kind, detail: { bytes: -1, status: null, name: 7 } };
      assert.equal(typeof eventSentence(ev), 'string');
    }
    assert.deepEqual(stageView([]).stage, 'dhcp');
  });
});
