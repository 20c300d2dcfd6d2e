// Secure Boot on real firmware (issue 19, docs/secure-boot.md): OVMF's Secure Boot build with Microsoft's keys,
// EDK2's own PXE (no NIC ROM), Debian's signed shim and GRUB served by `pxed serve`, Debian's signed kernel + the
// busybox payload → phone-home. The same firmware on the iPXE chain must refuse the unsigned iPXE binary: no iPXE
// HTTP request ever reaches pxed, which proves Secure Boot was enforced.
// The LAN router hands next-server = pxed (dnsmasq --dhcp-boot=,,<pxed>): Debian's GRUB 2.06 takes its TFTP server
// from the LAN ACK's siaddr, not from the proxy offer. Artifacts of a failing case stay in test/artifacts/<case>/.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { secureBootProgress } from '../../src/model/secure-boot.js';
import { artifactsDir } from '../helpers/paths.js';
import { ensureArm64Signed } from './arm64.js';
import { runCase, secondsAt as seconds, type CaseOptions } from './cases.js';
import { LAN } from './lab.js';
import { ensurePayload, type Payload } from './payload.js';
import type { EventView } from './pxed.js';
import { bootEvents, firstDiscoverSeconds, formatEvents, resultsTable, type CaseResult } from './timeline.js';

const MAC_SIGNED = '52:54:00:77:00:20';
const MAC_IPXE = '52:54:00:77:00:21';
const MAC_UNSIGNED = '52:54:00:77:00:22';
const MAC_ARM64 = '52:54:00:77:00:30';
const CASE_TIMEOUT_MS = 300_000;
const PHONE_HOME_PATH = /^http:\/\/10\.77\.0\.2:8080\/api\/v1\/boot\/[A-Za-z0-9_-]{16,}\/events$/;

let payload: Payload;
let runDir: string;
const results: CaseResult[] = [];

/** Every case: the LAN router hands next-server = pxed (GRUB's TFTP server, docs/secure-boot.md). */
const opts = (more: Partial<CaseOptions> = {}): CaseOptions => ({ payload, runDir, lab: { lanNextServer: LAN.server }, ...more });

/** First complete TFTP transfer of each Secure Boot stage. */
function sbStage(events: EventView[], stage: string): EventView | undefined {
  return events.find((e) => e.kind === 'tftp' && e.detail.secureBootStage === stage && e.detail.outcome === 'complete');
}

void describe('e2e: Secure Boot (OVMF + Microsoft keys) against pxed serve', { concurrency: 1 }, () => {
  before(() => {
    payload = ensurePayload();
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-e2e-sb-'));
  });

  after(() => {
    fs.rmSync(runDir, { recursive: true, force: true });
    if (results.length === 0) return;
    const table = resultsTable(results);
    process.stdout.write(`\nSecure Boot boots (seconds from QEMU start, TCG):\n${table}\n`);
    fs.mkdirSync(artifactsDir, { recursive: true });
    fs.writeFileSync(path.join(artifactsDir, 'e2e-secureboot-times.md'), `${table}\n`);
  });

  void it('SB1. signed chain: shim → GRUB → per-MAC grub.cfg → signed kernel over TFTP → phone-home', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('sb1-signed-chain', opts(), async (ctx) => {
      const { result, packets } = await ctx.boot({ firmware: 'uefi', secureBoot: true, mac: MAC_SIGNED, rom: 'none' }, { timeoutMs: 240_000 });
      const shown = ctx.pxed.show(MAC_SIGNED);
      assert.ok(shown);
      const events = bootEvents(shown.events, result.startedAt);
      assert.equal(result.outcome, 'phone-home', `no phone-home (${result.outcome}); serial:\n${result.serial.slice(-2500)}\ntimeline:\n${formatEvents(events)}`);
      const url = /PXED-E2E-PHONE-HOME-OK url=(\S+)/.exec(result.serial)?.[1] ?? '';
      assert.match(url, PHONE_HOME_PATH);
      const offer = events.find((e) => e.kind === 'dhcp-offer');
      assert.equal(offer?.detail.bootFile, 'shimx64.efi');
      const shim = sbStage(events, 'shim');
      const grub = sbStage(events, 'grub');
      const cfg = events.find((e) => e.kind === 'grub-cfg');
      const kernel = events.find((e) => e.kind === 'tftp' && e.detail.path === 'pxed/assets/vmlinuz' && e.detail.outcome === 'complete');
      const initrd = events.find((e) => e.kind === 'tftp' && e.detail.path === 'pxed/assets/initrd.img' && e.detail.outcome === 'complete');
      const phone = events.find((e) => e.kind === 'phone-home');
      const order = [shim, grub, cfg, kernel, initrd, phone];
      assert.ok(order.every((e) => e !== undefined), `missing stage; timeline:\n${formatEvents(events)}`);
      const ids = order.map((e) => e!.id);
      assert.deepEqual([...ids].sort((a, b) => a - b), ids, `stage order; timeline:\n${formatEvents(events)}`);
      assert.equal(cfg?.detail.variant, 'install');
      assert.equal(phone?.detail.bootId, cfg?.detail.bootId, 'phone-home belongs to the grub.cfg that minted the token');
      assert.equal(secureBootProgress(events)?.sentence, 'reached: GRUB fetched the kernel');
      assert.equal(shown.machine.state, 'installed');
      // Nothing of the iPXE chain was used.
      assert.equal(events.filter((e) => e.kind === 'ipxe-script').length, 0);
      assert.match(result.serial, /GRUB/, 'GRUB ran');
      // GRUB's loader re-quotes an argument with a space (docs/secure-boot.md "GRUB and kernel arguments").
      assert.match(result.serial, /pxed-e2e: cmdline .*"pxed\.e2e_words=a b"/, 'the quoted argument reached the kernel whole');
      // What shim and GRUB really asked for, in order (docs/secure-boot.md lists it).
      const asked = events.filter((e) => e.kind === 'tftp').map((e) => `${String(e.detail.path)} ${String(e.detail.outcome)}`);
      fs.mkdirSync(artifactsDir, { recursive: true });
      fs.writeFileSync(path.join(artifactsDir, 'e2e-secureboot-tftp.txt'), `${asked.join('\n')}\n`);
      results.push({
        name: 'SB1 UEFI Secure Boot, signed chain',
        path: 'offer → 4011 → TFTP shim → grubx64 → grub.cfg → TFTP kernel+initrd',
        seconds: seconds(phone, result.startedAt) ?? null,
        times: {
          discover: firstDiscoverSeconds(packets, MAC_SIGNED, result.startedAt),
          'dhcp-offer': seconds(offer, result.startedAt),
          'proxy-ack-4011': seconds(events.find((e) => e.kind === 'dhcp-ack' && e.detail.stage === 'proxy-ack-4011'), result.startedAt),
          tftp: seconds(grub, result.startedAt),
          'ipxe-script': seconds(cfg, result.startedAt),
          kernel: seconds(kernel, result.startedAt),
          initrd: seconds(initrd, result.startedAt),
          'phone-home': seconds(phone, result.startedAt),
        },
        note: `tftp done = grubx64.efi (shim at ${seconds(shim, result.startedAt)?.toFixed(1)} s); script = per-MAC grub.cfg; kernel/initrd over TFTP`,
      });
    });
  });

  void it('SB2. iPXE chain on the same firmware: snponly.efi is refused, no iPXE HTTP request reaches pxed', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('sb2-ipxe-refused', opts(), async (ctx) => {
      let lastPoll = 0;
      let servedAt = 0;
      const { result, packets } = await ctx.boot(
        { firmware: 'uefi', secureBoot: true, mac: MAC_IPXE, rom: 'none' },
        {
          timeoutMs: 200_000,
          // Done 20 s after the unsigned binary was fully served (iPXE would have asked for /boot.ipxe by then), or
          // as soon as the firmware says it refused the image.
          until: (serial) => {
            if (/Access Denied|Security Violation/i.test(serial)) return true;
            if (Date.now() - lastPoll < 1000) return false;
            lastPoll = Date.now();
            if (servedAt === 0 && ctx.events(MAC_IPXE).some((e) => e.kind === 'tftp' && e.detail.path === 'snponly.efi' && e.detail.outcome === 'complete')) {
              servedAt = Date.now();
            }
            return servedAt > 0 && Date.now() - servedAt > 20_000;
          },
        },
      );
      const events = bootEvents(ctx.events(MAC_IPXE), result.startedAt);
      const served = events.find((e) => e.kind === 'tftp' && e.detail.path === 'snponly.efi' && e.detail.outcome === 'complete');
      assert.ok(served, `snponly.efi was never served; timeline:\n${formatEvents(events)}\nserial:\n${result.serial.slice(-2000)}`);
      assert.equal(events.filter((e) => e.kind === 'ipxe-script' || e.kind === 'asset').length, 0, `iPXE ran; timeline:\n${formatEvents(events)}`);
      assert.equal(events.filter((e) => e.kind === 'dhcp-offer' && e.detail.ipxe === true).length, 0, 'no DHCP from iPXE');
      const http = packets.filter((p) => p.tcp?.dstPort === 8080 || p.tcp?.srcPort === 8080);
      assert.equal(http.length, 0, 'no HTTP traffic to pxed at all');
      assert.equal(result.phoneHomeSeconds, null);
      results.push({
        name: 'SB2 UEFI Secure Boot, iPXE chain',
        path: 'offer → 4011 → TFTP snponly → refused',
        seconds: null,
        times: { discover: firstDiscoverSeconds(packets, MAC_IPXE, result.startedAt), tftp: seconds(served, result.startedAt) },
        note: /Access Denied|Security Violation/i.test(result.serial) ? 'firmware: "Access Denied" (signature refused)' : 'no iPXE request within 20 s of the transfer',
      });
    });
  });

  void it('SB4. signed chain with an unsigned kernel: GRUB refuses it, the timeline says "stopped after GRUB fetched the kernel"', { timeout: CASE_TIMEOUT_MS }, async () => {
    // The payload's kernel with its Authenticode signature removed (sbattach from sbsigntool).
    const assets = path.join(runDir, 'unsigned-assets');
    fs.mkdirSync(path.join(assets, 'unsigned'), { recursive: true });
    const unsigned = path.join(assets, 'unsigned', 'vmlinuz');
    fs.copyFileSync(payload.kernel, unsigned);
    execFileSync('sbattach', ['--remove', unsigned], { stdio: 'pipe' });
    await runCase('sb4-unsigned-kernel', opts({ pxed: { assetRoots: [assets] } }), async (ctx) => {
      const { result, packets } = await ctx.boot(
        { firmware: 'uefi', secureBoot: true, mac: MAC_UNSIGNED, rom: 'none' },
        { timeoutMs: 200_000, until: (serial) => /pxed: loading or starting the kernel failed/.test(serial) },
      );
      const events = bootEvents(ctx.events(MAC_UNSIGNED), result.startedAt);
      const why = `timeline:\n${formatEvents(events)}\nserial:\n${result.serial.slice(-2000)}`;
      const kernel = events.find((e) => e.kind === 'tftp' && e.detail.path === 'pxed/assets/unsigned/vmlinuz' && e.detail.outcome === 'complete');
      assert.ok(kernel, why);
      assert.match(result.serial, /bad shim signature|verification failed|Security Violation/i, why);
      assert.equal(events.filter((e) => e.kind === 'phone-home').length, 0);
      assert.equal(result.phoneHomeSeconds, null);
      const progress = secureBootProgress(events);
      assert.equal(progress?.sentence, 'stopped after GRUB fetched the kernel', why);
      const refused = /bad shim signature|verification failed|Security Violation/i.exec(result.serial)?.[0];
      results.push({
        name: 'SB4 UEFI Secure Boot, unsigned kernel',
        path: 'offer → 4011 → TFTP shim → grubx64 → grub.cfg → TFTP kernel → refused',
        seconds: null,
        times: {
          discover: firstDiscoverSeconds(packets, MAC_UNSIGNED, result.startedAt),
          'dhcp-offer': seconds(events.find((e) => e.kind === 'dhcp-offer'), result.startedAt),
          'proxy-ack-4011': seconds(events.find((e) => e.kind === 'dhcp-ack' && e.detail.stage === 'proxy-ack-4011'), result.startedAt),
          tftp: seconds(sbStage(events, 'grub'), result.startedAt),
          'ipxe-script': seconds(events.find((e) => e.kind === 'grub-cfg'), result.startedAt),
          kernel: seconds(kernel, result.startedAt),
        },
        note: `GRUB printed "${refused ?? '?'}"; timeline: ${progress?.sentence ?? '?'}`,
      });
    });
  });

  void it('SB3. ARM64 UEFI Secure Boot (AAVMF + Microsoft keys, TCG): arch 11 proxy offer, shimaa64 → grubaa64 → grub.cfg → arm64 kernel → phone-home', { timeout: 420_000 }, async () => {
    const signedRoots = ensureArm64Signed();
    // The arm64 payload (Debian's arm64 kernel + busybox-static:arm64) as assets under arm64/.
    const arm64 = ensurePayload('arm64');
    const assets = path.join(runDir, 'arm64-assets');
    fs.mkdirSync(path.join(assets, 'arm64'), { recursive: true });
    fs.copyFileSync(arm64.kernel, path.join(assets, 'arm64', 'vmlinuz'));
    fs.copyFileSync(arm64.initrd, path.join(assets, 'arm64', 'initrd.img'));
    await runCase(
      'sb3-arm64',
      opts({ pxed: { signedRoots, assetRoots: [assets] } }),
      async (ctx) => {
        const { result, packets } = await ctx.boot({ firmware: 'uefi-arm64', secureBoot: true, mac: MAC_ARM64, rom: 'none' }, { timeoutMs: 380_000 });
        const events = bootEvents(ctx.events(MAC_ARM64), result.startedAt);
        const why = `timeline:\n${formatEvents(events)}\nserial:\n${result.serial.slice(-2000)}`;
        const offer = events.find((e) => e.kind === 'dhcp-offer');
        assert.equal(offer?.detail.arch, 11, why);
        assert.equal(offer?.detail.firmware, 'efi-arm64');
        assert.equal(offer?.detail.bootFile, 'shimaa64.efi');
        const shim = sbStage(events, 'shim');
        const grub = sbStage(events, 'grub');
        const cfg = events.find((e) => e.kind === 'grub-cfg');
        assert.ok(shim && grub && cfg, why);
        assert.equal(shim.detail.path, 'shimaa64.efi');
        assert.equal(grub.detail.path, 'grubaa64.efi');
        assert.equal(cfg.detail.variant, 'install');
        const kernel = events.find((e) => e.kind === 'tftp' && e.detail.path === 'pxed/assets/arm64/vmlinuz' && e.detail.outcome === 'complete');
        // GRUB starts the kernel without ACKing the initrd's last block, so that transfer may end as a timeout.
        const initrd = events.find((e) => e.kind === 'tftp' && e.detail.path === 'pxed/assets/arm64/initrd.img');
        const phone = events.find((e) => e.kind === 'phone-home');
        assert.equal(result.outcome, 'phone-home', why);
        assert.ok(kernel && phone, why);
        assert.equal(phone.detail.bootId, cfg.detail.bootId);
        // AAVMF with Microsoft's keys: the kernel's EFI stub reports Secure Boot (the cmdline is not quiet for it).
        assert.match(result.serial, /UEFI Secure Boot is enabled/, why);
        results.push({
          name: 'SB3 ARM64 UEFI (AAVMF), signed chain',
          path: 'offer → 4011 → TFTP shimaa64 → grubaa64 → grub.cfg → TFTP kernel+initrd',
          seconds: seconds(phone, result.startedAt) ?? null,
          times: {
            discover: firstDiscoverSeconds(packets, MAC_ARM64, result.startedAt),
            'dhcp-offer': seconds(offer, result.startedAt),
          'proxy-ack-4011': seconds(events.find((e) => e.kind === 'dhcp-ack' && e.detail.stage === 'proxy-ack-4011'), result.startedAt),
            tftp: seconds(grub, result.startedAt),
            'ipxe-script': seconds(cfg, result.startedAt),
            kernel: seconds(kernel, result.startedAt),
            initrd: seconds(initrd, result.startedAt),
            'phone-home': seconds(phone, result.startedAt),
          },
          note: 'Debian arm64 kernel + busybox-static:arm64 payload; AAVMF_VARS.ms.fd (Microsoft keys): the EFI stub printed "UEFI Secure Boot is enabled."',
        });
      },
    );
  });
});
