// Real firmware against the real daemon (issue 7, docs/protocol.md §11): SeaBIOS/iPXE and OVMF guests in QEMU (TCG) boot
// from `pxed serve` inside network namespaces this test creates, down to the guest payload POSTing
// {"status":"installed"} to pxed's own per-boot phone-home URL. One boot at a time; every wait is bounded.
// A failing case keeps test/artifacts/<case>/ (pcap, serial log, pxed log, dnsmasq logs, config, registry).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactsDir, repoRoot } from '../helpers/paths.js';
import { Lab, LAN } from './lab.js';
import { ensurePayload, type Payload } from './payload.js';
import { dhcpPackets, readPcap, type Packet } from '../helpers/pcap.js';
import { Pxed, type EventView } from './pxed.js';
import { bootVm, type BootOptions, type BootResult, type VmOptions } from './qemu.js';
import { patchedPlainPxeRom } from './rom.js';
import {
  assertStageOrder,
  bootEvents,
  firstDiscoverSeconds,
  formatEvents,
  resultsTable,
  stageEvents,
  stageTimes,
  writeBenchmarkSection,
  type CaseResult,
  type Stage,
  type StageTimes,
} from './timeline.js';

const MAC_LAB = '52:54:00:77:00:10';
const MAC_LAB_DIRECT = '52:54:00:77:00:11';
const MAC_UNKNOWN_IGNORE = '52:54:00:77:00:98';
const MAC_UNKNOWN_DISCOVER = '52:54:00:77:00:99';
const UUID = '8a7f0c2e-3a53-4c1b-9d0e-2f5b6c7d8e9f';
/** Per boot; the recipe's TCG boots take 8–18 s on an idle 2-core machine, ~35 s under heavy load. */
const BOOT_TIMEOUT_MS = 150_000;
const CASE_TIMEOUT_MS = 200_000;
/** The whole suite must end within 15 minutes even when every boot hangs: later boots get what is left. */
const SUITE_BUDGET_MS = 13 * 60_000;
const suiteStart = Date.now();

function bootBudget(wantedMs: number): number {
  const left = SUITE_BUDGET_MS - (Date.now() - suiteStart);
  if (left < 10_000) throw new Error(`e2e suite time budget (${SUITE_BUDGET_MS / 60_000} min) exhausted by earlier cases`);
  return Math.min(wantedMs, left);
}
const PHONE_HOME_PATH = /^http:\/\/10\.77\.0\.2:8080\/api\/v1\/boot\/[A-Za-z0-9_-]{16,}\/events$/;

let payload: Payload;
let runDir: string;
const results: CaseResult[] = [];

interface CaseContext {
  lab: Lab;
  pxed: Pxed;
  /** Boots one VM with a capture on the guest's tap; returns the result, the packets and this boot's events. */
  boot(vm: VmOptions, opts?: Partial<BootOptions>): Promise<{ result: BootResult; packets: Packet[] }>;
  events(mac: string): EventView[];
}

interface CaseSetup {
  relay?: boolean;
  db?: string;
  unknownMacs?: 'ignore' | 'discover';
}

/** Runs one case in a fresh lab with a fresh pxed; keeps artifacts only when it fails. */
async function runCase(name: string, setup: CaseSetup, body: (ctx: CaseContext) => Promise<void>): Promise<void> {
  const dir = path.join(artifactsDir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  const db = setup.db ?? path.join(runDir, `${name}.db`);
  let lab: Lab | null = null;
  let ok = false;
  try {
    lab = await Lab.create({ artifacts: dir, relay: setup.relay ?? false });
    const pxed = await Pxed.start(lab, payload, { db, ...(setup.unknownMacs ? { unknownMacs: setup.unknownMacs } : {}) });
    const theLab = lab;
    let n = 0;
    const ctx: CaseContext = {
      lab,
      pxed,
      async boot(vm, opts) {
        n++;
        const pcap = path.join(dir, `boot${n}.pcap`);
        const cap = await theLab.capture(pcap);
        let result: BootResult;
        try {
          const timeoutMs = bootBudget(opts?.timeoutMs ?? BOOT_TIMEOUT_MS);
          result = await bootVm(theLab, vm, { ...opts, timeoutMs }, `boot${n}-qemu`);
        } finally {
          await new Promise((r) => setTimeout(r, 300)); // let the last frames reach tcpdump (immediate mode)
          await theLab.stop(cap);
        }
        return { result, packets: readPcap(pcap) };
      },
      events(mac) {
        return pxed.show(mac)?.events ?? [];
      },
    };
    await body(ctx);
    ok = true;
  } finally {
    if (lab) await lab.destroy();
    if (ok) {
      fs.rmSync(dir, { recursive: true, force: true });
    } else if (fs.existsSync(db)) {
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(db, path.join(dir, 'pxed.db'));
    }
  }
}

/** The install-boot checks shared by every case that must reach phone-home. */
function assertInstalled(ctx: CaseContext, mac: string, result: BootResult, order: Stage[]): ReturnType<typeof stageEvents> {
  const shown = ctx.pxed.show(mac);
  assert.ok(shown, `pxed does not know ${mac}`);
  const events = bootEvents(shown.events, result.startedAt);
  assert.equal(
    result.outcome,
    'phone-home',
    `guest did not phone home (${result.outcome}); serial tail:\n${result.serial.slice(-2500)}\ntimeline:\n${formatEvents(events)}`,
  );
  const url = /PXED-E2E-PHONE-HOME-OK url=(\S+)/.exec(result.serial)?.[1] ?? '';
  assert.match(url, PHONE_HOME_PATH, 'the guest phoned home to pxed’s own endpoint with a per-boot token');
  const stages = stageEvents(events, 'vmlinuz', 'initrd.img');
  assertStageOrder(stages, order, events);
  // The phone-home belongs to the boot whose install script minted the token.
  assert.equal(stages['phone-home']?.detail.bootId, stages['ipxe-script']?.detail.bootId, 'phone-home bootId = script bootId');
  assert.equal(stages['ipxe-script']?.detail.variant, 'install');
  assert.equal(shown.machine.state, 'installed', `machine state; timeline:\n${formatEvents(events)}`);
  return stages;
}

function record(
  name: string,
  pathLabel: string,
  boot: { result: BootResult; packets: Packet[] },
  mac: string,
  stages: ReturnType<typeof stageEvents>,
  note?: string,
): void {
  const { result } = boot;
  const times: StageTimes = { ...stageTimes(stages, result.startedAt), discover: firstDiscoverSeconds(boot.packets, mac, result.startedAt) };
  results.push({ name, path: pathLabel, seconds: times['phone-home'] ?? null, times, ...(note ? { note } : {}) });
}

const fromServer = (p: Packet): boolean => p.ipv4?.src === LAN.server;

void describe('e2e: real firmware netboots against pxed serve', { concurrency: 1 }, () => {
  before(() => {
    payload = ensurePayload();
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-e2e-'));
  });

  after(() => {
    fs.rmSync(runDir, { recursive: true, force: true });
    if (results.length === 0) return;
    const table = resultsTable(results);
    process.stdout.write(`\nReal-firmware boots (seconds from QEMU start, TCG):\n${table}\n`);
    fs.mkdirSync(artifactsDir, { recursive: true });
    fs.writeFileSync(path.join(artifactsDir, 'e2e-times.md'), `${table}\n`);
    if (process.env.PXED_E2E_UPDATE_DOCS === '1') {
      writeBenchmarkSection(path.join(repoRoot, 'docs', 'benchmarks.md'), benchmarkText(table));
    }
  });

  void it('1. BIOS + iPXE ROM: proxy offer with the bootstrap URL, script, kernel, initrd, phone-home', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('1-bios-ipxe', { db: path.join(runDir, 'lab.db') }, async (ctx) => {
      const boot = await ctx.boot({ firmware: 'bios', mac: MAC_LAB, uuid: UUID });
      const stages = assertInstalled(ctx, MAC_LAB, boot.result, ['dhcp-offer', 'ipxe-script', 'kernel', 'initrd', 'phone-home']);
      assert.equal(stages['dhcp-offer']?.detail.ipxe, true);
      assert.equal(stages['dhcp-offer']?.detail.bootFile, `http://${LAN.server}:8080/boot.ipxe`);
      assert.equal(stages.tftp, undefined, 'the iPXE ROM needs no TFTP');
      record('1 BIOS + iPXE ROM', 'offer → HTTP', boot, MAC_LAB, stages);
    });
  });

  void it('5. one-shot: the installed case-1 VM boots again and gets the local-boot script, no new token', { timeout: CASE_TIMEOUT_MS }, async () => {
    const db = path.join(runDir, 'lab.db');
    assert.ok(fs.existsSync(db), 'needs case 1’s registry (case 1 did not run or failed before pxed started)');
    await runCase('5-one-shot', { db }, async (ctx) => {
      const before = ctx.pxed.show(MAC_LAB);
      assert.equal(before?.machine.state, 'installed', 'case 1 left the machine installed');
      let lastPoll = 0;
      let localBoot: EventView | undefined;
      const { result, packets } = await ctx.boot(
        { firmware: 'bios', mac: MAC_LAB, uuid: UUID },
        {
          timeoutMs: 120_000,
          // Done when pxed has served the local-boot script and iPXE has handed back to SeaBIOS.
          until: (serial) => {
            if (Date.now() - lastPoll < 1000) return false;
            lastPoll = Date.now();
            localBoot ??= ctx.events(MAC_LAB).find((e) => e.kind === 'ipxe-script' && e.detail.variant === 'local-boot');
            return localBoot !== undefined && /No bootable device|Boot failed|exit/i.test(serial.slice(-4000));
          },
        },
      );
      const shown = ctx.pxed.show(MAC_LAB);
      assert.ok(shown);
      const events = bootEvents(shown.events, result.startedAt);
      const script = events.find((e) => e.kind === 'ipxe-script');
      assert.ok(script, `no ipxe-script event on the second boot; timeline:\n${formatEvents(events)}`);
      assert.equal(script.detail.variant, 'local-boot', 'second boot gets the local-boot script');
      assert.equal(events.filter((e) => e.kind === 'ipxe-script' && e.detail.variant === 'install').length, 0);
      // No token minted: no "iPXE install script rendered" transition, the machine stays installed.
      assert.equal(events.filter((e) => e.kind === 'state').length, 0, `no state change; timeline:\n${formatEvents(events)}`);
      assert.equal(shown.machine.state, 'installed');
      assert.equal(result.phoneHomeSeconds, null, 'the guest payload must not run again');
      const offer = events.find((e) => e.kind === 'dhcp-offer');
      const times = {
        discover: firstDiscoverSeconds(packets, MAC_LAB, result.startedAt),
        ...(offer ? { 'dhcp-offer': (Date.parse(offer.time) - result.startedAt) / 1000 } : {}),
        'ipxe-script': (Date.parse(script.time) - result.startedAt) / 1000,
      };
      results.push({ name: '5 one-shot (2nd boot of 1)', path: 'offer → local-boot script', seconds: null, times, note: 'no phone-home by design; ends at the local-boot script' });
    });
  });

  void it('2. BIOS chain: a plain PXE ROM gets undionly.kpxe over TFTP, the chained iPXE gets the script (no loop)', { timeout: CASE_TIMEOUT_MS }, async () => {
    const rom = patchedPlainPxeRom();
    await runCase('2-bios-chain', {}, async (ctx) => {
      const boot = await ctx.boot({ firmware: 'bios', mac: MAC_LAB, uuid: UUID, nic: 'e1000', rom });
      const { result, packets } = boot;
      const stages = assertInstalled(ctx, MAC_LAB, result, ['dhcp-offer', 'tftp', 'ipxe-script', 'kernel', 'initrd', 'phone-home']);
      assert.equal(stages['dhcp-offer']?.detail.ipxe, false, 'the ROM is seen as plain PXE');
      assert.equal(stages['dhcp-offer']?.detail.bootFile, 'undionly.kpxe');
      assert.equal(stages.tftp?.detail.path, 'undionly.kpxe');
      const events = bootEvents(ctx.events(MAC_LAB), result.startedAt);
      const offers = events.filter((e) => e.kind === 'dhcp-offer');
      assert.ok(offers.some((e) => e.detail.ipxe === true && e.detail.bootFile === `http://${LAN.server}:8080/boot.ipxe`));
      assert.equal(events.filter((e) => e.kind === 'tftp' && e.detail.outcome === 'complete').length, 1, 'undionly.kpxe is fetched once (no loop)');
      assert.ok(dhcpPackets(packets).some(({ pkt, dhcp }) => fromServer(pkt) && dhcp.file === 'undionly.kpxe'));
      record('2 BIOS chain', 'offer → TFTP undionly → HTTP', boot, MAC_LAB, stages);
    });
  });

  void it('3a. UEFI native PXE, default strategy (binl): :4011 ACK, TFTP snponly.efi, iPXE, phone-home', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('3a-uefi-pxe-binl', {}, async (ctx) => {
      const boot = await ctx.boot({ firmware: 'uefi', mac: MAC_LAB, uuid: UUID, rom: 'none' });
      const { result, packets } = boot;
      const stages = assertInstalled(ctx, MAC_LAB, result, ['dhcp-offer', 'proxy-ack-4011', 'tftp', 'ipxe-script', 'kernel', 'initrd', 'phone-home']);
      assert.equal(stages['dhcp-offer']?.detail.strategy, 'binl');
      assert.equal(stages['dhcp-offer']?.detail.arch, 7);
      assert.equal(stages.tftp?.detail.path, 'snponly.efi');
      const dhcp = dhcpPackets(packets);
      const offer67 = dhcp.find(({ pkt, dhcp: d }) => fromServer(pkt) && pkt.udp?.srcPort === 67 && d.type === 'OFFER');
      assert.ok(offer67, 'pxed sent a :67 proxy offer');
      assert.equal(offer67.dhcp.options.has(43), false, 'binl: no option 43 in the :67 offer');
      const ack4011 = dhcp.find(({ pkt }) => fromServer(pkt) && pkt.udp?.srcPort === 4011);
      assert.ok(ack4011, 'pxed answered on :4011');
      assert.equal(ack4011.pkt.udp?.dstPort, 4011, 'EDK2 expects the 4011 reply on port 4011');
      assert.equal(ack4011.dhcp.file, 'snponly.efi');
      // EDK2 probes the size first (tsize, then ERROR 8): on the timeline as a size probe, not a failure.
      const tftp = (ctx.pxed.show(MAC_LAB)?.events ?? []).filter((e) => e.kind === 'tftp' && e.detail.path === 'snponly.efi');
      assert.ok(tftp.some((e) => e.detail.outcome === 'size-probe'), 'the EDK2 size probe is recorded as such');
      assert.ok(!tftp.some((e) => e.detail.outcome === 'client-error'), 'no snponly.efi transfer failed');
      record('3a UEFI PXE (binl)', 'offer → 4011 → TFTP snponly → HTTP', boot, MAC_LAB, stages);
    });
  });

  void it('3b. UEFI native PXE, the other strategy (direct, per-host override): no :4011, TFTP, phone-home', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('3b-uefi-pxe-direct', {}, async (ctx) => {
      const boot = await ctx.boot({ firmware: 'uefi', mac: MAC_LAB_DIRECT, uuid: UUID, rom: 'none' });
      const { result, packets } = boot;
      const stages = assertInstalled(ctx, MAC_LAB_DIRECT, result, ['dhcp-offer', 'tftp', 'ipxe-script', 'kernel', 'initrd', 'phone-home']);
      assert.equal(stages['dhcp-offer']?.detail.strategy, 'direct');
      assert.equal(stages['proxy-ack-4011'], undefined, 'direct: no 4011 round trip');
      const dhcp = dhcpPackets(packets);
      const offer67 = dhcp.find(({ pkt, dhcp: d }) => fromServer(pkt) && pkt.udp?.srcPort === 67 && d.type === 'OFFER' && d.file === 'snponly.efi');
      assert.ok(offer67, 'direct: the :67 offer carries the boot file');
      assert.ok(offer67.dhcp.options.has(43), 'direct: option 43 in the :67 offer');
      assert.equal(dhcp.filter(({ pkt }) => pkt.udp?.dstPort === 4011 || pkt.udp?.srcPort === 4011).length, 0);
      record('3b UEFI PXE (direct)', 'offer → TFTP snponly → HTTP', boot, MAC_LAB_DIRECT, stages);
    });
  });

  void it('4. UEFI + iPXE ROM: proxy offer with the bootstrap URL, phone-home', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('4-uefi-ipxe', {}, async (ctx) => {
      const boot = await ctx.boot({ firmware: 'uefi', mac: MAC_LAB, uuid: UUID });
      const stages = assertInstalled(ctx, MAC_LAB, boot.result, ['dhcp-offer', 'ipxe-script', 'kernel', 'initrd', 'phone-home']);
      assert.equal(stages['dhcp-offer']?.detail.ipxe, true);
      assert.equal(stages['dhcp-offer']?.detail.arch, 7);
      assert.equal(stages.tftp, undefined);
      record('4 UEFI + iPXE ROM', 'offer → HTTP', boot, MAC_LAB, stages);
    });
  });

  void it('6a. unknown MAC under ignore: pxed sends nothing, the VM gives up within a bound', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('6a-unknown-ignore', { unknownMacs: 'ignore' }, async (ctx) => {
      const { result, packets } = await ctx.boot(
        { firmware: 'bios', mac: MAC_UNKNOWN_IGNORE, uuid: UUID },
        { timeoutMs: 120_000, until: (serial) => /No bootable device/i.test(serial) },
      );
      assert.equal(result.outcome, 'until', `the VM did not give up within 120 s; serial:\n${result.serial.slice(-2000)}`);
      const dhcp = dhcpPackets(packets);
      assert.ok(dhcp.some(({ dhcp: d }) => d.type === 'DISCOVER' && d.chaddr === MAC_UNKNOWN_IGNORE), 'the guest did ask');
      assert.deepEqual(packets.filter(fromServer).map((p) => `${p.ipv4?.src} → ${p.ipv4?.dst}`), [], 'nothing from pxed');
      assert.equal(ctx.pxed.show(MAC_UNKNOWN_IGNORE), null, 'not recorded under ignore');
      results.push({ name: '6a unknown MAC, ignore', path: 'silence → firmware gives up', seconds: null, times: { discover: firstDiscoverSeconds(packets, MAC_UNKNOWN_IGNORE, result.startedAt) }, note: `VM gave up after ${(result.durationMs / 1000).toFixed(1)} s; pxed sent 0 packets` });
    });
  });

  void it('6b. unknown MAC under discover: recorded as discovered with arch and UUID', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('6b-unknown-discover', { unknownMacs: 'discover' }, async (ctx) => {
      let lastPoll = 0;
      const { result, packets } = await ctx.boot(
        { firmware: 'uefi', mac: MAC_UNKNOWN_DISCOVER, uuid: UUID, rom: 'none' },
        {
          timeoutMs: 120_000,
          until: () => {
            if (Date.now() - lastPoll < 1000) return false;
            lastPoll = Date.now();
            return ctx.pxed.show(MAC_UNKNOWN_DISCOVER, 1) !== null;
          },
        },
      );
      assert.equal(result.outcome, 'until', 'the machine was discovered while the VM ran');
      const shown = ctx.pxed.show(MAC_UNKNOWN_DISCOVER);
      assert.ok(shown);
      assert.equal(shown.machine.state, 'discovered');
      assert.equal(shown.machine.arch, 7);
      assert.equal(shown.machine.firmware, 'efi-x64');
      assert.equal(shown.machine.uuid, UUID);
      assert.equal(shown.machine.host, null);
      const discovered = shown.events.find((e) => e.kind === 'discovered');
      results.push({
        name: '6b unknown MAC, discover',
        path: 'UEFI PXE discover → recorded',
        seconds: null,
        times: {
          discover: firstDiscoverSeconds(packets, MAC_UNKNOWN_DISCOVER, result.startedAt),
          ...(discovered ? { 'dhcp-offer': (Date.parse(discovered.time) - result.startedAt) / 1000 } : {}),
        },
        note: 'offer column = time the machine was recorded as discovered',
      });
    });
  });

  void it('7. relay: the guest behind a DHCP relay boots through giaddr', { timeout: CASE_TIMEOUT_MS }, async () => {
    await runCase('7-relay', { relay: true }, async (ctx) => {
      const boot = await ctx.boot({ firmware: 'bios', mac: MAC_LAB, uuid: UUID });
      const { result, packets } = boot;
      const stages = assertInstalled(ctx, MAC_LAB, result, ['dhcp-offer', 'ipxe-script', 'kernel', 'initrd', 'phone-home']);
      assert.match(String(stages['ipxe-script']?.detail.client), /^10\.78\.0\.\d+$/, 'the guest is on the far LAN');
      // On the far LAN, the proxy offer arrives from the relay, carrying its giaddr.
      const relayed = dhcpPackets(packets).filter(({ dhcp: d }) => d.type === 'OFFER' && d.siaddr === LAN.server);
      assert.ok(relayed.length > 0, 'pxed’s offer reached the far LAN');
      assert.ok(relayed.every(({ dhcp: d }) => d.giaddr === LAN.far.relay), 'relayed (giaddr set)');
      record('7 relay (BIOS + iPXE ROM)', 'relay → offer → HTTP', boot, MAC_LAB, stages);
    });
  });
});

function benchmarkText(table: string): string {
  const load = os.loadavg()[0]!.toFixed(1);
  return [
    'End-to-end netboots of real firmware against `pxed serve` (test/e2e/netboot.test.ts): QEMU 7.2 with TCG (no',
    'KVM), SeaBIOS 1.16.2, OVMF 2022.11, Debian iPXE 1.0.0+git-20190125, in network namespaces on the 2-core CI',
    'machine; Debian 12 kernel + busybox initramfs as the "installer". Seconds from QEMU start to each stage as',
    'recorded on pxed’s own timeline (first DHCP offer, :4011 ACK, completed TFTP transfer, iPXE script, kernel and',
    'initrd served, phone-home). Most of the time after "initrd" is the Linux kernel booting under TCG, and all',
    'figures move by several seconds with other load on the machine. Case 2 uses a plain-PXE BIOS ROM derived at',
    'test time from Debian\'s pxe-e1000.rom (test/e2e/rom.ts), since every BIOS NIC ROM Debian ships is iPXE.',
    'Re-run and rewrite this section with `PXED_E2E_UPDATE_DOCS=1 npm test` (or the e2e files alone).',
    '',
    `Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, 1-min load average ${load} at the end:`,
    '',
    table,
  ].join('\n');
}
