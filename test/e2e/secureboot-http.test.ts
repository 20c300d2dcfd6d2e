// UEFI HTTP boot on real firmware (issue 19, docs/secure-boot.md "UEFI HTTP boot"): Debian's OVMF has an HTTP boot
// option (`UEFI HTTPv4`), after PXEv4 and PXEv6 by default. OVMF's fw_cfg switches turn both PXE options off, so
// the firmware's first network boot option is HTTPv4: it sends a DISCOVER with option 60 `HTTPClient:Arch:00016`,
// pxed answers with the URL of snponly.efi, the firmware downloads it over HTTP and iPXE boots the payload to
// phone-home. The capture shows the HTTPClient DISCOVER and pxed's offer; the timeline shows the HTTP fetch.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactsDir } from '../helpers/paths.js';
import { Lab, LAN } from './lab.js';
import { ensurePayload, type Payload } from './payload.js';
import { dhcpPackets, readPcap } from './pcap.js';
import { Pxed } from './pxed.js';
import { bootVm } from './qemu.js';
import { bootEvents, firstDiscoverSeconds, formatEvents, resultsTable, type CaseResult } from './timeline.js';

const MAC_HTTP = '52:54:00:77:00:40';
/** OVMF's fw_cfg switches for its PXE boot options: both off, so HTTPv4 is the first network boot option. */
const NO_PXE = { 'opt/org.tianocore/IPv4PXESupport': 'n', 'opt/org.tianocore/IPv6PXESupport': 'n' };

let payload: Payload;
let runDir: string;
const results: CaseResult[] = [];

void describe('e2e: UEFI HTTP boot (OVMF) against pxed serve', { concurrency: 1 }, () => {
  before(() => {
    payload = ensurePayload();
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-e2e-http-'));
  });

  after(() => {
    fs.rmSync(runDir, { recursive: true, force: true });
    if (results.length === 0) return;
    const table = resultsTable(results);
    process.stdout.write(`\nUEFI HTTP boot (seconds from QEMU start, TCG):\n${table}\n`);
    fs.mkdirSync(artifactsDir, { recursive: true });
    fs.writeFileSync(path.join(artifactsDir, 'e2e-http-boot-times.md'), `${table}\n`);
  });

  void it('H1. PXE off in OVMF: the firmware sends an HTTPClient DISCOVER, boots the EFI binary pxed names by URL, phones home', { timeout: 170_000 }, async () => {
    const dir = path.join(artifactsDir, 'h1-uefi-http-boot');
    fs.rmSync(dir, { recursive: true, force: true });
    const db = path.join(runDir, 'h1.db');
    let lab: Lab | null = null;
    let ok = false;
    try {
      lab = await Lab.create({ artifacts: dir });
      const pxed = await Pxed.start(lab, payload, { db });
      const pcap = path.join(dir, 'boot.pcap');
      const cap = await lab.capture(pcap);
      let result;
      try {
        result = await bootVm(lab, { firmware: 'uefi', mac: MAC_HTTP, rom: 'none', fwCfg: NO_PXE }, { timeoutMs: 150_000 }, 'boot-qemu');
      } finally {
        await new Promise((r) => setTimeout(r, 300));
        await lab.stop(cap);
      }
      const packets = readPcap(pcap);
      const shown = pxed.show(MAC_HTTP);
      assert.ok(shown);
      const events = bootEvents(shown.events, result.startedAt);
      const why = `timeline:\n${formatEvents(events)}\nserial:\n${result.serial.slice(-2500)}`;
      assert.equal(result.outcome, 'phone-home', why);
      const dhcp = dhcpPackets(packets);
      const httpDiscover = dhcp.find(({ dhcp: d }) => d.type === 'DISCOVER' && d.chaddr === MAC_HTTP && /^HTTPClient/.test(d.options.get(60)?.toString('latin1') ?? ''));
      assert.ok(httpDiscover, 'the firmware sent an HTTPClient DISCOVER');
      const url = `http://${LAN.server}:8080/assets/ipxe/snponly.efi`;
      const offer = events.find((e) => e.kind === 'dhcp-offer' && e.detail.bootFile === url);
      assert.ok(offer, why);
      assert.equal(offer.detail.firmware, 'efi-x64-http');
      assert.ok(dhcp.some(({ pkt, dhcp: d }) => pkt.ipv4?.src === LAN.server && d.type === 'OFFER' && d.file === url && d.options.get(60)?.toString('latin1') === 'HTTPClient'), 'pxed’s offer names the URL and echoes HTTPClient');
      const fetched = events.find((e) => e.kind === 'asset' && e.detail.path === 'ipxe/snponly.efi' && e.detail.status === 200);
      const script = events.find((e) => e.kind === 'ipxe-script');
      const phone = events.find((e) => e.kind === 'phone-home');
      assert.ok(script && phone, why);
      assert.equal(shown.machine.state, 'installed');
      const s = (e: { time: string } | undefined): number | undefined => (e ? (Date.parse(e.time) - result.startedAt) / 1000 : undefined);
      results.push({
        name: 'H1 UEFI HTTP boot (OVMF)',
        path: 'HTTPClient offer → HTTP snponly → iPXE → HTTP',
        seconds: s(phone) ?? null,
        times: {
          discover: firstDiscoverSeconds(packets, MAC_HTTP, result.startedAt),
          'dhcp-offer': s(offer),
          tftp: s(fetched),
          'ipxe-script': s(script),
          kernel: s(events.find((e) => e.kind === 'asset' && e.detail.path === 'vmlinuz' && e.detail.status === 200)),
          initrd: s(events.find((e) => e.kind === 'asset' && e.detail.path === 'initrd.img' && e.detail.status === 200)),
          'phone-home': s(phone),
        },
        note: `"tftp done" = snponly.efi fetched over HTTP (${fetched ? 'recorded' : 'not recorded as an asset event'}); offer = the HTTPClient offer`,
      });
      ok = true;
    } finally {
      if (lab) await lab.destroy();
      if (ok && process.env.PXED_E2E_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
