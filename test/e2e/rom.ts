// A BIOS NIC option ROM that looks like a plain (vendor) PXE ROM, for the BIOS chain case.
//
// Every BIOS NIC ROM Debian ships (ipxe-qemu, ipxe) is an iPXE build, and iPXE ROMs send user-class (77) "iPXE"
// and option 175, so pxed rightly hands them the HTTP bootstrap URL directly: they never take the undionly.kpxe
// path that real vendor PXE ROMs (Intel/Broadcom UNDI) take. To exercise that path with real firmware we derive
// a ROM from Debian's pxe-e1000.rom (for QEMU's e1000 NIC) that hides iPXE's identity in its DHCP requests:
//   - the legacy image ends with [u32 n][raw LZMA1 stream, lc=2 lp=0 pb=0, end marker][u32 CRC32] where n is the
//     stream length + 4 (iPXE zbin; this 2019 build verifies the CRC before installing and otherwise stops with
//     "Installation failed - cannot continue");
//   - in the decompressed image, the request-option bytes `4d 04 "iPXE"` (option 77) become option 224 (private),
//     and `mov $0xaf,%edx` (the option-number argument of dhcppkt_store(DHCP_EB_ENCAP=175, features)) becomes
//     option 225 (private), and `mov $0xafb1,%edx` (the bus-id sub-option 0xb1 encapsulated in 175) moves into
//     option 226, so the DISCOVER carries neither 77 nor 175;
//   - the image is recompressed (xz, same LZMA parameters) in place with a new length and CRC; the PCI image size
//     stays the same, so the stream may only grow into the 0xff padding; the PCI checksum is fixed.
// Everything else (option 60 "PXEClient:Arch:00000:UNDI:002001", 93, 94, 97, the PXE/UNDI API) is untouched, and
// the ROM still chains an NBP from TFTP like any PXE ROM. The derived ROM is cached under test/.cache/e2e/.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../helpers/paths.js';

const SOURCE_ROM = '/usr/lib/ipxe/qemu/pxe-e1000.rom';
const LZMA1 = '--lzma1=preset=9e,lc=2,lp=0,pb=0,dict=1MiB';
const USER_CLASS = Buffer.from([0x4d, 0x04, ...Buffer.from('iPXE')]);
const MOV_EDX_175 = Buffer.from([0xba, 0xaf, 0x00, 0x00, 0x00]);
/** mov $0xafb1,%edx: DHCP_EB_BUS_ID, sub-option 0xb1 encapsulated in 175 (stored by a separate call). */
const MOV_EDX_175_B1 = Buffer.from([0xba, 0xb1, 0xaf, 0x00, 0x00]);
const OPT_PRIVATE_224 = 0xe0;
const OPT_PRIVATE_225 = 0xe1;
const OPT_PRIVATE_226 = 0xe2;

/** CRC-32 (IEEE, reflected) with initial value 0xffffffff and no final XOR, as iPXE's prefix checks it. */
function crc32NoFinalXor(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return c >>> 0;
}

function xz(args: string[], input: Buffer): Buffer {
  return execFileSync('xz', ['--format=raw', ...args], { input, maxBuffer: 16 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
}

function onlyIndex(hay: Buffer, needle: Buffer, what: string): number {
  const i = hay.indexOf(needle);
  if (i < 0 || hay.indexOf(needle, i + 1) >= 0) throw new Error(`rom: expected exactly one ${what} in the iPXE image`);
  return i;
}

/** Returns the path of the derived ROM (built once per source ROM). */
export function patchedPlainPxeRom(source = SOURCE_ROM): string {
  const rom = fs.readFileSync(source);
  const key = createHash('sha256').update(rom).update('plain-pxe-v3').digest('hex').slice(0, 16);
  const out = path.join(cacheDir, 'e2e', `rom-${key}`, 'plain-pxe-e1000.rom');
  if (fs.existsSync(out)) return out;

  const imageLen = rom[2]! * 512;
  if (rom.readUInt16LE(0) !== 0xaa55 || imageLen !== rom.length) throw new Error(`rom: ${source} is not a single legacy image`);
  // Candidates: a u32 length just before a stream that fits in the rest of the image.
  let found: { start: number; length: number; image: Buffer } | null = null;
  for (let p = 0; p + 8 <= Math.min(rom.length, 16384) && !found; p++) {
    const length = rom.readUInt32LE(p) - 4;
    const start = p + 4;
    const slack = rom.length - start - length;
    if (length <= 0 || slack < 0 || slack >= 1024) continue;
    try {
      const image = xz(['-dc', '--single-stream', LZMA1], rom.subarray(start));
      if (image.includes(USER_CLASS)) found = { start, length, image };
    } catch {
      /* not the stream */
    }
  }
  if (!found) throw new Error(`rom: no iPXE LZMA payload found in ${source}`);

  const image = Buffer.from(found.image);
  image[onlyIndex(image, USER_CLASS, 'user-class option')] = OPT_PRIVATE_224;
  image[onlyIndex(image, MOV_EDX_175, 'mov $175,%edx') + 1] = OPT_PRIVATE_225;
  image[onlyIndex(image, MOV_EDX_175_B1, 'mov $0xafb1,%edx') + 2] = OPT_PRIVATE_226;
  const packed = xz(['-zc', LZMA1], image);
  // Room: the stream, its CRC, and one byte of padding left for the checksum fix-up below.
  if (found.start + packed.length + 4 + 1 > rom.length) {
    throw new Error(`rom: recompressed payload (${packed.length} bytes) does not fit in the image`);
  }
  const patched = Buffer.from(rom);
  patched.fill(0xff, found.start - 4);
  patched.writeUInt32LE(packed.length + 4, found.start - 4);
  packed.copy(patched, found.start);
  patched.writeUInt32LE(crc32NoFinalXor(packed), found.start + packed.length);
  // Option ROM checksum: all bytes of the image sum to 0 mod 256. The last byte is padding after the stream.
  let sum = 0;
  for (let i = 0; i < patched.length - 1; i++) sum = (sum + patched[i]!) & 0xff;
  patched[patched.length - 1] = (256 - sum) & 0xff;

  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, patched);
  fs.renameSync(`${out}.tmp`, out);
  return out;
}
