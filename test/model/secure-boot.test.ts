import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secureBootProgress, secureBootStageOf, type StageEvent } from '../../src/model/secure-boot.js';
import { stageView } from '../../src/model/stage.js';

const tftp = (path: string, secureBootStage?: string, outcome = 'complete'): StageEvent => ({
  kind: 'tftp',
  detail: { path, outcome, ...(secureBootStage !== undefined ? { secureBootStage } : {}) },
});
const offer: StageEvent = { kind: 'dhcp-offer', detail: { bootFile: 'shimx64.efi' } };
const shim = tftp('shimx64.efi', 'shim');
const grub = tftp('grubx64.efi', 'grub');
const cfg = tftp('grub/grub.cfg-01-52:54:00:77:00:20', 'grub.cfg');
const kernel = tftp('pxed/assets/vmlinuz', 'kernel');

void test('secureBootStageOf: only completed transfers of the chain count', () => {
  assert.equal(secureBootStageOf(shim), 'shim');
  assert.equal(secureBootStageOf(tftp('shimx64.efi', 'shim', 'size-probe')), null);
  assert.equal(secureBootStageOf(tftp('snponly.efi')), null);
  assert.equal(secureBootStageOf(tftp('x', 'bogus')), null);
  assert.equal(secureBootStageOf({ kind: 'asset', detail: { secureBootStage: 'kernel', outcome: 'complete' } }), null);
});

void test('secureBootProgress: where a signed-chain boot stopped, as a sentence', () => {
  assert.equal(secureBootProgress([offer, tftp('snponly.efi')]), null, 'not a signed-chain boot');
  const cases: [StageEvent[], string][] = [
    [[offer, shim], 'stopped after the firmware fetched the shim'],
    [[offer, shim, grub], 'stopped after the shim fetched GRUB'],
    [[offer, shim, grub, cfg], 'stopped after GRUB fetched its config'],
    [[offer, shim, grub, cfg, kernel], 'stopped after GRUB fetched the kernel'],
    // Probes the loaders make between stages change nothing; an incomplete kernel transfer is not "fetched".
    [[offer, shim, grub, tftp('grub/x86_64-efi/fs.lst', undefined, 'not-found'), cfg, tftp('pxed/assets/vmlinuz', 'kernel', 'timeout')], 'stopped after GRUB fetched its config'],
  ];
  for (const [events, sentence] of cases) {
    const p = secureBootProgress(events);
    assert.equal(p?.sentence, sentence);
    assert.equal(p?.stopped, true);
    assert.equal(typeof p?.hint, 'string');
  }
  const done = secureBootProgress([offer, shim, grub, cfg, kernel, { kind: 'phone-home', detail: { bootId: 'b' } }]);
  assert.deepEqual(done, { reached: 'kernel', stopped: false, sentence: 'reached: GRUB fetched the kernel', hint: null });
});

void test('secureBootProgress: the last boot counts (a second shim transfer starts over)', () => {
  const p = secureBootProgress([offer, shim, grub, cfg, kernel, { kind: 'phone-home', detail: {} }, offer, shim, grub]);
  assert.equal(p?.sentence, 'stopped after the shim fetched GRUB');
});

void test('stageView and sentences: a stalled signed-chain boot names the refused step', () => {
  let id = 0;
  const ev = (kind: string, detail: Record<string, unknown>) => ({ id: ++id, mac: '52:54:00:77:00:22', time: new Date(Date.UTC(2026, 11, 3, 8, 0, id)).toISOString(), kind, detail });
  const events = [
    ev('state', { from: null, to: 'registered', reason: 'created' }),
    ev('dhcp-offer', { stage: 'proxy-offer', firmware: 'efi-x64', ipxe: false, bootFile: 'shimx64.efi' }),
    ev('tftp', { path: 'shimx64.efi', bytes: 1048504, outcome: 'complete', secureBootStage: 'shim' }),
    ev('tftp', { path: 'grubx64.efi', bytes: 3843520, outcome: 'complete', secureBootStage: 'grub' }),
    ev('tftp', { path: 'grub/grub.cfg-01-52:54:00:77:00:22', bytes: 400, outcome: 'complete', secureBootStage: 'grub.cfg' }),
    ev('grub-cfg', { variant: 'install', os: 'custom', bootId: 'b1', client: '10.77.0.150' }),
    ev('tftp', { path: 'pxed/assets/unsigned/vmlinuz', bytes: 8247232, outcome: 'complete', secureBootStage: 'kernel' }),
    ev('state', { from: 'booting', to: 'stalled', reason: 'no progress' }),
  ];
  const view = stageView(events);
  assert.equal(view.status, 'stalled');
  assert.equal(view.stage, 'installer-config', 'the kernel arrived (kernel-initrd reached); nothing after it');
  assert.match(view.hint ?? '', /^stopped after GRUB fetched the kernel: the kernel was refused/);
  const lines = view.boots.flatMap((b) => b.lines.map((l) => l.text));
  assert.ok(lines.includes('GRUB config: custom install'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('TFTP grubx64.efi') && l.endsWith('(Secure Boot: the shim fetched GRUB)')), lines.join('\n'));
});
