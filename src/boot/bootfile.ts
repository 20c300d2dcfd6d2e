// The DHCP half of the policy: which boot file a PXE/HTTP-boot client gets (the loop breaker: iPXE gets the
// bootstrap URL, never undionly again), and the offer/ack event with the state change a netboot implies.

import type { HostSpec } from '../config/provisioning.js';
import { BootEvents } from '../model/events.js';
import type { Machine } from '../model/machine.js';
import { resolveBootChain, shimFileFor, takesSignedChain } from './chain.js';
import { discover, refreshIdentity } from './discovery.js';
import { hostOf, type PolicyContext } from './settings.js';
import type { BootClient, DhcpBootAnswer, DhcpBootQuery } from './types.js';
/**
 * Where the Debian `ipxe` package's EFI binaries are (x86_64 only: /usr/lib/ipxe/{snponly,ipxe}.efi at the TFTP
 * root). Other architectures are looked up in a sub-directory of the TFTP roots (also served as /assets/ipxe/<dir>/)
 * that the operator fills from an iPXE build (bin-arm64-efi/snponly.efi → <root>/arm64/snponly.efi).
 */
const EFI_ARCH_DIR: Readonly<Partial<Record<BootClient['firmware'], string>>> = {
  'efi-x64': 'x86_64',
  'efi-ia32': 'i386',
  'efi-arm64': 'arm64',
  'efi-x64-http': 'x86_64',
  'efi-ia32-http': 'i386',
  'efi-arm64-http': 'arm64',
};

/**
 * What this client boots, or null to stay silent. Unknown MACs may be recorded as discovered; a known machine gets
 * its offer/ack event, identity refresh and (registered/stalled →) booting in one transaction.
 */
export function answerDhcp(ctx: PolicyContext, query: DhcpBootQuery): DhcpBootAnswer | null {
  const { client } = query;
  const machine = ctx.registry.machineGet(client.mac);
  if (machine === null) {
    if (ctx.settings.unknownMacs === 'discover' && client.firmware !== 'unsupported') discover(ctx, query);
    return null;
  }
  if (machine.state === 'discovered' && !ctx.settings.bootDiscovered) return null;
  const host = hostOf(ctx, machine);
  const answer = bootFileFor(ctx, client, machine, host);
  const kind = query.stage === 'proxy-offer' || query.stage === 'dhcp-offer' ? 'dhcp-offer' : 'dhcp-ack';
  // Anyone can send DHCP for any MAC: its event and identity refresh are within the MAC's write budget (budget.ts);
  // the state change a netboot implies is not (the lifecycle bounds it).
  const record = ctx.writes.allow('dhcp', machine.mac, query.clientAddress, ctx.clock.now().getTime());
  const revive = answer !== null && (machine.state === 'registered' || machine.state === 'stalled');
  if (!record && !revive) return answer;
  // The offer event, the identity the client showed and the state it implies land together or not at all.
  ctx.registry.atomically(() => {
    if (record) ctx.registry.eventAppend(machine.mac, BootEvents.dhcp(kind, {
      stage: query.stage,
      xid: query.xid,
      arch: client.arch,
      firmware: client.firmware,
      ipxe: client.isIpxe,
      strategy: answer?.strategy ?? null,
      bootFile: answer?.bootFile ?? null,
      ...(answer === null ? { ignored: `no iPXE build for firmware ${client.firmware}` } : {}),
    }));
    if (answer === null) return;
    if (record) refreshIdentity(ctx, machine, client);
    // A netboot is a sign of life: registered (first boot) and stalled (the watchdog's guess) move to booting.
    if (revive) {
      ctx.registry.machineTransition(machine.mac, 'booting', `netboot (${query.stage})`, { stage: query.stage });
    }
  });
  return answer;
}

/** The boot file for a client (protocol.md §4.3), or null for firmware we have no iPXE build for. */
export function bootFileFor(ctx: PolicyContext, client: BootClient, machine: Machine, host: HostSpec | null): DhcpBootAnswer | null {
  const nextServer = ctx.settings.serverAddress;
  if (client.firmware === 'unsupported') return null;
  // iPXE first: iPXE EFI sends PXEClient/93=7 even when it was loaded by HTTP boot (ipxe#1527).
  if (client.isIpxe) return { bootFile: `${ctx.serverUrl}/boot.ipxe`, nextServer, strategy: 'direct' };
  if (client.firmware === 'bios') return { bootFile: 'undionly.kpxe', nextServer, strategy: 'direct' };
  const strategy = machine.overrides.uefiStrategy ?? host?.pxe.uefi_strategy ?? ctx.settings.uefiStrategy;
  // Secure Boot (chain.ts): native UEFI x64/ARM64 PXE on the signed chain gets the shim; the rest keeps iPXE.
  if (takesSignedChain(client) && resolveBootChain(machine.overrides.bootChain, host?.pxe.boot_chain, ctx.settings.bootChain ?? 'ipxe') === 'signed') {
    return { bootFile: shimFileFor(client), nextServer, strategy };
  }
  const dir = EFI_ARCH_DIR[client.firmware];
  if (dir === undefined) return null;
  const binary = machine.overrides.efiBinary ?? host?.pxe.efi_binary ?? ctx.settings.efiBinary;
  // One layout for TFTP and HTTP: x86_64 at the root of the iPXE roots (Debian's /usr/lib/ipxe), others in <dir>/.
  const rel = dir === 'x86_64' ? binary : `${dir}/${binary}`;
  if (client.isHttpClient || client.firmware.endsWith('-http')) {
    // src/http serves /assets/ipxe/<rel> from the iPXE binary roots (the TFTP roots) first.
    return { bootFile: `${ctx.serverUrl}/assets/ipxe/${rel}`, nextServer, strategy: 'direct' };
  }
  return { bootFile: rel, nextServer, strategy };
}
