// The simulated rack: N machines with their MACs, addresses, SMBIOS UUIDs and firmware mix. Deterministic in N.
// Mix (per 10 machines): 4 BIOS PXE ROMs (lock-step TFTP), 2 UEFI lock-step, 2 UEFI asking windowsize 4 (EDK2's
// PcdPxeTftpWindowSize), 2 with an iPXE ROM (straight to HTTP). UEFI goes through the :4011 step (binl).

import { machineAddress } from './net.js';
import type { MachineKind, MachineSpec } from './machine.js';

export function machineMac(i: number): string {
  return `52:54:00:88:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
}

export function makeRack(n: number): MachineSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const slot = i % 10;
    const kind: MachineKind = slot < 4 ? 'bios' : slot < 8 ? 'uefi' : 'ipxe-rom';
    const uuid = Buffer.alloc(16);
    uuid.write('5707', 0, 'hex');
    uuid.writeUInt32BE(i + 1, 12);
    return { index: i, mac: machineMac(i), ip: machineAddress(i), uuid, kind, windowsize: slot === 6 || slot === 7 ? 4 : 1 };
  });
}
