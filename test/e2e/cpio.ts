// A minimal cpio "newc" writer (the format the Linux kernel unpacks as an initramfs), so the guest payload is built
// without mknod or root-owned staging folders. Deterministic: fixed mtime, inode numbers in entry order.

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function record(ino: number, mode: number, data: Buffer, name: string, rdev: [number, number] = [0, 0]): Buffer {
  const nameBuf = Buffer.from(`${name}\0`, 'utf8');
  // newc header: magic + 13 eight-digit hex fields (kernel Documentation/driver-api/early-userspace/buffer-format.rst).
  const header = Buffer.from(
    '070701' +
      [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0].map(hex8).join(''),
    'ascii',
  );
  const head = Buffer.concat([header, nameBuf]);
  return Buffer.concat([head, pad4(head.length), data, pad4(data.length)]);
}

/** Serialises entries (parents before children) into an uncompressed newc archive. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const ino = i + 1;
    const name = e.path.replace(/^\/+/, '');
    switch (e.kind) {
      case 'dir':
        parts.push(record(ino, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), name));
        break;
      case 'file':
        parts.push(record(ino, S_IFREG | (e.mode ?? 0o644), e.data, name));
        break;
      case 'symlink':
        parts.push(record(ino, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8'), name));
        break;
      case 'chardev':
        parts.push(record(ino, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), name, [e.major, e.minor]));
        break;
    }
  });
  parts.push(record(0, 0, Buffer.alloc(0), TRAILER));
  return Buffer.concat(parts);
}
