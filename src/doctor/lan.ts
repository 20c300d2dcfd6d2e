// The doctor's LAN check: who else answers a PXE DISCOVER on the provisioning interface, and whether their answer
// breaks pxed. The probe itself (sending the DISCOVER, collecting OFFERs) is src/dhcp/probe.ts behind `DhcpProbe`;
// judgeLan rates the answers (a pure function, table-tested).
// Why boot options break pxed: a PXE ROM or iPXE that gets a boot file (option 67 or `file`) and a server (option 66
// or siaddr) in the address OFFER boots that and ignores the proxy offer (README, "Operations").

import type { DaemonConfig } from '../config/daemon.js';
import type { ProbeAnswer } from '../dhcp/probe.js';
import { describeError } from '../errors.js';
import type { Check } from './checks.js';

export type { ProbeAnswer } from '../dhcp/probe.js';

/** Sends one PXE DISCOVER from `address` (our address on the provisioning interface) and returns the OFFERs. */
export type DhcpProbe = (address: string, timeoutMs: number) => Promise<ProbeAnswer[]>;

const NONE = '0.0.0.0';

function bootOptions(a: ProbeAnswer): string[] {
  const out: string[] = [];
  if (a.bootFile !== null) out.push(`boot file "${a.bootFile}"`);
  if (a.tftpServer !== null) out.push(`option 66 "${a.tftpServer}"`);
  // siaddr equal to the server itself without a boot file points nowhere: harmless.
  if (a.nextServer !== NONE && (a.nextServer !== a.server || a.bootFile !== null)) out.push(`next-server ${a.nextServer}`);
  // PXE vendor options (boot menu, discovery control): a PXE ROM follows them instead of pxed's.
  if (a.vendorOptions !== null) out.push(`option 43 (PXE options, ${a.vendorOptions.length / 2} bytes)`);
  return out;
}

/**
 * The LAN check of `pxed doctor`: probes from our address and judges the answers. A probe that cannot run (port 68
 * taken, no privilege) is a warning that says why, never a crash.
 */
export async function lanChecks(cfg: Readonly<DaemonConfig>, ourAddress: string, probe: DhcpProbe, timeoutMs = 3500): Promise<Check[]> {
  if (!cfg.dhcp.enabled) return [{ id: 'lan', status: 'ok', summary: 'dhcp.enabled is false: pxed sends no boot offers, so no LAN probe' }];
  let answers: ProbeAnswer[];
  try {
    answers = await probe(ourAddress, timeoutMs);
  } catch (err) {
    return [
      {
        id: 'lan',
        status: 'warn',
        summary: `could not send a PXE DISCOVER from ${ourAddress}: ${describeError(err)}`,
        fix: 'run pxed doctor as root while nothing else (dhclient, a DHCP client on this interface) holds UDP 68',
      },
    ];
  }
  return judgeLan(answers, ourAddress, cfg.dhcp.mode);
}

/** Judges the answers for pxed at `ourAddress` in `mode`. */
export function judgeLan(answers: readonly ProbeAnswer[], ourAddress: string, mode: 'proxy' | 'full'): Check[] {
  const others = answers.filter((a) => a.server !== ourAddress);
  const out: Check[] = [];
  const fixBoot = 'remove the boot options for the PXE machines on that server (dnsmasq: dhcp-boot/pxe-service; ISC dhcpd: filename/next-server), so only pxed answers boot requests';
  for (const a of others) {
    const id = `lan:${a.server}`;
    const boot = bootOptions(a);
    if (a.yiaddr === NONE) {
      out.push({ id, status: 'fail', summary: `${a.server} is another proxy-DHCP server${boot.length > 0 ? ` (${boot.join(', ')})` : ''}: clients get two boot offers`, fix: 'disable its proxy-DHCP (dnsmasq: dhcp-range=...,proxy) or stop pxed\'s' });
    } else if (boot.length > 0) {
      out.push({ id, status: 'fail', summary: `${a.server} offers ${a.yiaddr} with ${boot.join(', ')}: firmware and iPXE boot that and ignore pxed`, fix: fixBoot });
    } else if (mode === 'full') {
      out.push({ id, status: 'fail', summary: `${a.server} also hands out addresses (${a.yiaddr}) while pxed runs dhcp.mode full`, fix: 'use dhcp.mode proxy, or stop the other DHCP server on this LAN' });
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
