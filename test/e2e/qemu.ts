// Starting a QEMU guest inside the lab's net namespace (docs/protocol.md §11), bounded in time, with an
// early exit when the guest prints the phone-home marker or a caller-supplied condition holds.
// TCG only (no KVM): CI machines have none, and the recipe's timings are TCG timings.

import fs from 'node:fs';
import path from 'node:path';
import { killGroup } from '../helpers/netns.js';
import { type Lab, readTail } from './lab.js';
import { MARKER_FAILED, MARKER_OK } from './payload.js';

/** 'uefi-arm64': qemu-system-aarch64 `virt` with AAVMF (qemu-efi-aarch64), TCG. */
export type Firmware = 'bios' | 'uefi' | 'uefi-arm64';

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';
/** Secure Boot build (needs SMM and a secure pflash) and the variable store with Microsoft's keys enrolled. */
const OVMF_SB_CODE = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
const OVMF_SB_VARS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';
const AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd';
const AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd';
/** AAVMF's variable store with Microsoft's keys enrolled: Secure Boot on (the code image is the same). */
const AAVMF_MS_VARS = '/usr/share/AAVMF/AAVMF_VARS.ms.fd';

export interface VmOptions {
  firmware: Firmware;
  mac: string;
  /** SMBIOS system UUID (-uuid), reported by PXE clients in option 97. */
  uuid?: string;
  /** NIC model; default virtio-net-pci. */
  nic?: 'virtio-net-pci' | 'e1000';
  /**
   * Option ROM: 'default' = QEMU's iPXE ROM for the NIC; 'none' = `romfile=` (UEFI: EDK2's own PXE client runs);
   * or a path to a ROM file.
   */
  rom?: 'default' | 'none' | string;
  /**
   * UEFI only: Secure Boot with Microsoft's keys enrolled (docs/secure-boot.md), enforcing: OVMF's Secure Boot build
   * with SMM, or AAVMF with its `.ms` variable store.
   */
  secureBoot?: boolean;
  /** UEFI only: OVMF fw_cfg knobs, e.g. {'opt/org.tianocore/IPv4PXESupport': 'n'} (QEMU -fw_cfg name=...,string=...). */
  fwCfg?: Record<string, string>;
}

export interface BootOptions {
  /** Hard bound for the whole boot. */
  timeoutMs: number;
  /** Stops the VM early when this returns true (polled every 250 ms, after the markers). */
  until?: (serial: string) => boolean | Promise<boolean>;
}

export interface BootResult {
  /** Epoch ms when QEMU was started. */
  startedAt: number;
  /** Seconds from QEMU start to the phone-home marker, or null. */
  phoneHomeSeconds: number | null;
  outcome: 'phone-home' | 'phone-home-failed' | 'until' | 'exited' | 'timeout';
  exitCode: number | null;
  durationMs: number;
  serial: string;
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>cDEHM78]/g;

/** Serial text with ANSI escapes (SeaBIOS/iPXE through sga, EDK2) removed and CRs dropped. */
export function cleanSerial(raw: string): string {
  return raw.replace(ANSI, '').replace(/\r/g, '');
}

export function qemuArgs(vm: VmOptions, tap: string, serialFile: string, varsFile: string | null): string[] {
  const nicProps = [`${vm.nic ?? 'virtio-net-pci'}`, 'netdev=n0', `mac=${vm.mac}`, 'bootindex=1'];
  if (vm.rom === 'none') nicProps.push('romfile=');
  else if (vm.rom && vm.rom !== 'default') nicProps.push(`romfile=${vm.rom}`);
  const args = [
    '-accel',
    'tcg',
    '-m',
    '512',
    '-nographic',
    '-no-reboot',
    '-monitor',
    'none',
    '-serial',
    `file:${serialFile}`,
    '-netdev',
    `tap,id=n0,ifname=${tap},script=no,downscript=no`,
    '-device',
    nicProps.join(','),
  ];
  if (vm.uuid) args.push('-uuid', vm.uuid);
  for (const [name, value] of Object.entries(vm.fwCfg ?? {})) args.push('-fw_cfg', `name=${name},string=${value}`);
  if (vm.firmware === 'uefi-arm64') {
    if (!varsFile) throw new Error('UEFI boot needs a copy of AAVMF_VARS');
    // pflash units must be 64 MiB on virt: Debian's AAVMF images are padded to that size.
    args.push(
      '-machine',
      'virt',
      '-cpu',
      'cortex-a57',
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${AAVMF_CODE}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${varsFile}`,
    );
  } else if (vm.firmware === 'bios') {
    // sga mirrors SeaBIOS/iPXE text-mode output to the serial port.
    args.push('-machine', 'pc', '-device', 'sga');
  } else {
    if (!varsFile) throw new Error('UEFI boot needs a copy of OVMF_VARS');
    if (vm.secureBoot) args.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
    args.push(
      '-machine',
      vm.secureBoot ? 'q35,smm=on' : 'q35',
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${vm.secureBoot ? OVMF_SB_CODE : OVMF_CODE}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${varsFile}`,
    );
  }
  return args;
}

/** Boots one VM in the lab; never throws for a guest that fails to boot (the result says what happened). */
export async function bootVm(lab: Lab, vm: VmOptions, opts: BootOptions, name = 'qemu'): Promise<BootResult> {
  const serialFile = path.join(lab.artifacts, `${name}-serial.log`);
  fs.rmSync(serialFile, { force: true });
  let varsFile: string | null = null;
  if (vm.firmware !== 'bios') {
    // A fresh NVRAM per boot: boot order and variables from an earlier boot must not leak into this one.
    varsFile = path.join(lab.artifacts, `${name}-VARS.fd`);
    const arm = vm.firmware === 'uefi-arm64';
    fs.copyFileSync(arm ? (vm.secureBoot ? AAVMF_MS_VARS : AAVMF_VARS) : vm.secureBoot ? OVMF_SB_VARS : OVMF_VARS, varsFile);
  }
  const qemu = vm.firmware === 'uefi-arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';
  const args = qemuArgs(vm, lab.guestTap, serialFile, varsFile);
  fs.writeFileSync(path.join(lab.artifacts, `${name}-cmdline.txt`), `${qemu} ${args.join(' ')}\n`);
  const startedAt = Date.now();
  const proc = lab.spawn(lab.net, name, qemu, args);
  let exitCode: number | null | undefined;
  void proc.exited.then((c) => (exitCode = c));

  let outcome: BootResult['outcome'] = 'timeout';
  let phoneHomeSeconds: number | null = null;
  const deadline = startedAt + opts.timeoutMs;
  try {
    for (;;) {
      const serial = cleanSerial(readTail(serialFile, 1 << 20));
      if (serial.includes(MARKER_OK)) {
        phoneHomeSeconds = (Date.now() - startedAt) / 1000;
        outcome = 'phone-home';
        break;
      }
      if (serial.includes(MARKER_FAILED)) {
        outcome = 'phone-home-failed';
        break;
      }
      if (opts.until && (await opts.until(serial))) {
        outcome = 'until';
        break;
      }
      if (exitCode !== undefined) {
        outcome = 'exited';
        break;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    if (outcome === 'phone-home' || outcome === 'phone-home-failed') {
      // The guest powers off by itself right after the marker; give it a moment, then make sure.
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    await killGroup(proc.child, 2000);
    if (varsFile) fs.rmSync(varsFile, { force: true });
  }
  return {
    startedAt,
    phoneHomeSeconds,
    outcome,
    exitCode: exitCode ?? null,
    durationMs: Date.now() - startedAt,
    serial: cleanSerial(readTail(serialFile, 1 << 20)),
  };
}
