// The doctor's LAN check: who else answers a PXE DISCOVER on the provisioning interface, and whether their answer
// breaks pxed. The probe itself (sending the DISCOVER, collecting OFFERs) sits behind `DhcpProbe` so the DHCP
// module provides it; this file only judges the answers (a pure function, table-tested).
// Why boot options break pxed: a PXE ROM or iPXE that gets a boot file (option 67 or `file`) and a server (option 66
// or siaddr) in the address OFFER boots that and ignores the proxy offer (README, "Operations").

import type { Check } from './checks.js';

/** One OFFER seen by the probe. */
export interface ProbeAnswer {
  /** Option 54 (server identifier), else the source address. */
  server: string;
  /** yiaddr; null (0.0.0.0) for a proxy-DHCP offer. */
  offeredAddress: string | null;
  /** siaddr when not 0.0.0.0. */
  nextServer: string | null;
  /** Option 67, else the BOOTP `file` field, when not empty. */
  bootFile: string | null;
  /** Option 66. */
  tftpServer: string | null;
  /** Option 60 echoed (PXEClient marks a PXE-aware server). */
  vendorClass: string | null;
}

export type DhcpProbe = (iface: string, timeoutMs: number) => Promise<ProbeAnswer[]>;

function bootOptions(a: ProbeAnswer): string[] {
  const out: string[] = [];
  if (a.bootFile !== null) out.push(`boot file "${a.bootFile}"`);
  if (a.tftpServer !== null) out.push(`option 66 "${a.tftpServer}"`);
  // siaddr equal to the server itself without a boot file points nowhere: harmless.
  if (a.nextServer !== null && (a.nextServer !== a.server || a.bootFile !== null)) out.push(`next-server ${a.nextServer}`);
  return out;
}

/** Judges the answers for pxed at `ourAddress` in `mode`. */
export function judgeLan(answers: readonly ProbeAnswer[], ourAddress: string, mode: 'proxy' | 'full'): Check[] {
  const others = answers.filter((a) => a.server !== ourAddress);
  const out: Check[] = [];
  const fixBoot = 'remove the boot options for the PXE machines on that server (dnsmasq: dhcp-boot/pxe-service; ISC dhcpd: filename/next-server), so only pxed answers boot requests';
  for (const a of others) {
    const id = `lan:${a.server}`;
    const boot = bootOptions(a);
    if (a.offeredAddress === null) {
      out.push({ id, status: 'fail', summary: `${a.server} is another proxy-DHCP server${boot.length > 0 ? ` (${boot.join(', ')})` : ''}: clients get two boot offers`, fix: 'disable its proxy-DHCP (dnsmasq: dhcp-range=...,proxy) or stop pxed\'s' });
    } else if (boot.length > 0) {
      out.push({ id, status: 'fail', summary: `${a.server} offers ${a.offeredAddress} with ${boot.join(', ')}: firmware and iPXE boot that and ignore pxed`, fix: fixBoot });
    } else if (mode === 'full') {
      out.push({ id, status: 'fail', summary: `${a.server} also hands out addresses (${a.offeredAddress}) while pxed runs dhcp.mode full`, fix: 'use dhcp.mode proxy, or stop the other DHCP server on this LAN' });
    } else {
      out.push({ id, status: 'ok', summary: `${a.server} hands out addresses without boot options: pxed's proxy offers complete them` });
    }
  }
  if (others.length === 0) {
    out.push(
      mode === 'proxy'
        ? { id: 'lan', status: 'warn', summary: 'no DHCP server answered: in proxy mode clients get no address', fix: 'check the LAN\'s DHCP server, or set dhcp.mode full' }
        : { id: 'lan', status: 'ok', summary: 'no other DHCP server answered' },
    );
  }
  return out;
}
