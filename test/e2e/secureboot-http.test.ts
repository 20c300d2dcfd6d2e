// UEFI HTTP boot and Debian's ipxe.efi on real firmware (issue 19, docs/secure-boot.md "UEFI HTTP boot").
// H1: Debian's OVMF has an HTTP boot option (`UEFI HTTPv4`), after PXEv4 and PXEv6 by default. OVMF's fw_cfg
// switches turn both PXE options off, so the firmware's first network boot option is HTTPv4: it sends a DISCOVER
// with option 60 `HTTPClient:Arch:00016`, pxed answers with the URL of the host's EFI binary, the firmware
// downloads it over HTTP and iPXE boots the payload to phone-home.
// E1: native UEFI PXE with `pxe.efi_binary: ipxe.efi`: Debian installs /usr/lib/ipxe/ipxe.efi as a symlink to
// /boot/ipxe.efi, which TFTP serves because /boot is an allowed symlink target; that iPXE (its own NIC drivers, not
// the firmware's SNP) boots to phone-home. H1's host uses ipxe.efi too, so the HTTP route of the symlink is covered.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactsDir } from '../helpers/paths.js';
import { dhcpPackets } from '../helpers/pcap.js';
import { runCase, secondsAt as s, type CaseOptions } from './cases.js';
import { LAN } from './lab.js';
import { ensurePayload, type Payload } from './payload.js';
import { bootEvents, firstDiscoverSeconds, formatEvents, resultsTable, type CaseResult } from './timeline.js';

const MAC_HTTP = '52:54:00:77:00:40';
const MAC_IPXE_EFI = '52:54:00:77:00:41';
/** OVMF's fw_cfg switches for its PXE boot options: both off, so HTTPv4 is the first network boot option. */
const NO_PXE = { 'opt/org.tianocore/IPv4PXESupport': 'n', 'opt/org.tianocore/IPv6PXESupport': 'n' };
const IPXE_EFI_LINK = '/usr/lib/ipxe/ipxe.efi';

let payload: Payload;
let runDir: string;
const results: CaseResult[] = [];
const opts = (): CaseOptions => ({ payload, runDir });

void describe('e2e: UEFI HTTP boot and ipxe.efi (OVMF) against pxed serve', { concurrency: 1 }, () => {
  before(() => {
    payload = ensurePayload();
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-e2e-http-'));
    // The case is about Debian's layout: the binary pxed names is a symlink into /boot.
    assert.ok(fs.lstatSync(IPXE_EFI_LINK).isSymbolicLink(), `${IPXE_EFI_LINK} is a symlink (Debian's ipxe package)`);
    assert.match(fs.realpathSync(IPXE_EFI_LINK), /^\/boot\//);
  });

  after(() => {
    fs.rmSync(runDir, { recursive: true, force: true });
    if (results.length === 0) return;
    const table = resultsTable(results);
    process.stdout.write(`\nUEFI HTTP boot and ipxe.efi (seconds from QEMU start, TCG):\n${table}\n`);
    fs.mkdirSync(artifactsDir, { recursive: true });
    fs.writeFileSync(path.join(artifactsDir, 'e2e-http-boot-times.md'), `${table}\n`);
  });

  void it('H1. PXE off in OVMF: the firmware sends an HTTPClient DISCOVER, boots ipxe.efi by URL, phones home', { timeout: 300_000 }, async () => {
    await runCase('h1-uefi-http-boot', opts(), async (ctx) => {
      const { result, packets } = await ctx.boot({ firmware: 'uefi', mac: MAC_HTTP, rom: 'none', fwCfg: NO_PXE }, { timeoutMs: 260_000 });
      const shown = ctx.pxed.show(MAC_HTTP);
      assert.ok(shown);
      const events = bootEvents(shown.events, result.startedAt);
      const why = `timeline:\n${formatEvents(events)}\nserial:\n${result.serial.slice(-2500)}`;
      assert.equal(result.outcome, 'phone-home', why);
      const dhcp = dhcpPackets(packets);
      const httpDiscover = dhcp.find(({ dhcp: d }) => d.type === 'DISCOVER' && d.chaddr === MAC_HTTP && /^HTTPClient/.test(d.options.get(60)?.toString('latin1') ?? ''));
      assert.ok(httpDiscover, 'the firmware sent an HTTPClient DISCOVER');
      const url = `http://${LAN.server}:8080/assets/ipxe/ipxe.efi`;
      const offer = events.find((e) => e.kind === 'dhcp-offer' && e.detail.bootFile === url);
      assert.ok(offer, why);
      assert.equal(offer.detail.firmware, 'efi-x64-http');
      assert.ok(
        dhcp.some(({ pkt, dhcp: d }) => pkt.ipv4?.src === LAN.server && d.type === 'OFFER' && d.file === url && d.options.get(60)?.toString('latin1') === 'HTTPClient'),
        'pxed’s offer names the URL and echoes HTTPClient',
      );
      // EDK2's HTTP boot asks with HEAD first (the size; an asset event with 0 bytes), then GETs the file.
      const size = fs.statSync(IPXE_EFI_LINK).size;
      const fetched = events.find((e) => e.kind === 'asset' && e.detail.path === 'ipxe/ipxe.efi' && e.detail.status === 200 && e.detail.bytes === size);
      assert.ok(fetched, `ipxe.efi (a symlink into /boot) served whole over HTTP; ${why}`);
      const script = events.find((e) => e.kind === 'ipxe-script');
      const phone = events.find((e) => e.kind === 'phone-home');
      assert.ok(script && phone, why);
      assert.equal(shown.machine.state, 'installed');
      results.push({
        name: 'H1 UEFI HTTP boot (OVMF), ipxe.efi',
        path: 'HTTPClient offer → HTTP ipxe.efi → iPXE → HTTP',
        seconds: s(phone, result.startedAt) ?? null,
        times: {
          discover: firstDiscoverSeconds(packets, MAC_HTTP, result.startedAt),
          'dhcp-offer': s(offer, result.startedAt),
          tftp: s(fetched, result.startedAt),
          'ipxe-script': s(script, result.startedAt),
          kernel: s(events.find((e) => e.kind === 'asset' && e.detail.path === 'vmlinuz' && e.detail.status === 200), result.startedAt),
          initrd: s(events.find((e) => e.kind === 'asset' && e.detail.path === 'initrd.img' && e.detail.status === 200), result.startedAt),
          'phone-home': s(phone, result.startedAt),
        },
        note: '"tftp done" = ipxe.efi fetched over HTTP; offer = the HTTPClient offer',
      });
    });
  });

  void it('E1. UEFI PXE with efi_binary ipxe.efi: Debian’s symlink into /boot over TFTP, iPXE’s own driver, phone-home', { timeout: 300_000 }, async () => {
    await runCase('e1-ipxe-efi', opts(), async (ctx) => {
      const { result, packets } = await ctx.boot({ firmware: 'uefi', mac: MAC_IPXE_EFI, rom: 'none' }, { timeoutMs: 260_000 });
      const shown = ctx.pxed.show(MAC_IPXE_EFI);
      assert.ok(shown);
      const events = bootEvents(shown.events, result.startedAt);
      const why = `timeline:\n${formatEvents(events)}\nserial:\n${result.serial.slice(-2500)}`;
      assert.equal(result.outcome, 'phone-home', why);
      const offer = events.find((e) => e.kind === 'dhcp-offer' && e.detail.bootFile === 'ipxe.efi');
      assert.ok(offer, why);
      const served = events.find((e) => e.kind === 'tftp' && e.detail.path === 'ipxe.efi' && e.detail.outcome === 'complete');
      assert.ok(served, why);
      assert.equal(served.detail.bytes, fs.statSync(IPXE_EFI_LINK).size);
      const script = events.find((e) => e.kind === 'ipxe-script');
      const phone = events.find((e) => e.kind === 'phone-home');
      assert.ok(script && phone, why);
      assert.equal(shown.machine.state, 'installed');
      results.push({
        name: 'E1 UEFI PXE, ipxe.efi',
        path: 'offer → 4011 → TFTP ipxe.efi (→ /boot) → HTTP',
        seconds: s(phone, result.startedAt) ?? null,
        times: {
          discover: firstDiscoverSeconds(packets, MAC_IPXE_EFI, result.startedAt),
          'dhcp-offer': s(offer, result.startedAt),
          'proxy-ack-4011': s(events.find((e) => e.kind === 'dhcp-ack' && e.detail.stage === 'proxy-ack-4011'), result.startedAt),
          tftp: s(served, result.startedAt),
          'ipxe-script': s(script, result.startedAt),
          kernel: s(events.find((e) => e.kind === 'asset' && e.detail.path === 'vmlinuz' && e.detail.status === 200), result.startedAt),
          initrd: s(events.find((e) => e.kind === 'asset' && e.detail.path === 'initrd.img' && e.detail.status === 200), result.startedAt),
          'phone-home': s(phone, result.startedAt),
        },
        note: 'ipxe.efi is /usr/lib/ipxe/ipxe.efi → /boot/ipxe.efi',
      });
    });
  });
});
