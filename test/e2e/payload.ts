// The guest payload for real-firmware boots: Debian's own kernel plus a busybox initramfs that gets a lease, reads
// the phone-home URL from its kernel command line (`pxed.phone_home=<url>`), POSTs {"status":"installed"} to it the
// way an installer would, prints a marker on the serial console and powers off.
// Built once and cached under test/.cache/e2e/ (git-ignored); rebuilt only when an input changes (kernel package,
// busybox binary, init scripts, module list). Only Debian's package mirror is used (apt-get download).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sh } from '../helpers/netns.js';
import { cacheDir } from '../helpers/paths.js';
import { cpioNewc, type CpioEntry } from './cpio.js';

/** Serial-console markers the harness waits for. */
export const MARKER_OK = 'PXED-E2E-PHONE-HOME-OK';
export const MARKER_FAILED = 'PXED-E2E-PHONE-HOME-FAILED';

/** The kernel command-line key carrying the phone-home URL. */
export const PHONE_HOME_ARG = 'pxed.phone_home';

/** NIC drivers the guest needs; their module dependencies are added (in load order) from modinfo's depends=. */
const ROOT_MODULES = ['virtio_pci', 'virtio_net', 'e1000'];

const BUSYBOX = '/bin/busybox';

export interface Payload {
  dir: string;
  /** Absolute paths inside `dir`. */
  kernel: string;
  initrd: string;
  kernelPackage: string;
  modules: string[];
}

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "pxed-e2e: init started"
for m in $(cat /lib/modules/load-order); do
  insmod /lib/modules/$m.ko || echo "pxed-e2e: insmod $m failed"
done
ifc=
i=0
while [ $i -lt 100 ]; do
  for p in /sys/class/net/*; do
    n=\${p##*/}
    if [ "$n" != lo ]; then ifc=$n; break; fi
  done
  [ -n "$ifc" ] && break
  sleep 0.1
  i=$((i+1))
done
echo "pxed-e2e: cmdline $(cat /proc/cmdline)"
url=
for w in $(cat /proc/cmdline); do
  case "$w" in ${PHONE_HOME_ARG}=*) url=\${w#${PHONE_HOME_ARG}=} ;; esac
done
ok=0
if [ -z "$ifc" ]; then
  echo "pxed-e2e: no network interface"
elif [ -z "$url" ]; then
  echo "pxed-e2e: no ${PHONE_HOME_ARG}= on the kernel command line"
else
  ip link set lo up
  ip link set "$ifc" up
  if udhcpc -i "$ifc" -s /udhcpc.sh -f -n -q -t 8 -T 2; then
    for try in 1 2 3; do
      # (busybox 1.35's wget -T segfaults: the harness's boot timeout bounds this instead.)
      if wget -q -O /tmp/phone-home.out --header 'Content-Type: application/json' \\
          --post-data '{"status":"installed"}' "$url"; then
        ok=1
        break
      fi
      echo "pxed-e2e: phone-home attempt $try failed"
      sleep 1
    done
  else
    echo "pxed-e2e: no DHCP lease on $ifc"
  fi
fi
if [ $ok = 1 ]; then echo "${MARKER_OK} url=$url"; else echo "${MARKER_FAILED}"; fi
sync
poweroff -f
`;

// busybox udhcpc only reports a lease; this script applies it.
const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
      set -- $router
      ip route add default via "$1" dev "$interface"
    fi
    echo "pxed-e2e: lease $ip/\${mask:-24} router=$router on $interface"
    ;;
esac
exit 0
`;

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Guest architectures: amd64 (the host's) or arm64 (kernel, modules and busybox from Debian's arm64 packages). */
export type PayloadArch = 'amd64' | 'arm64';

/** The real kernel package the linux-image-<arch> metapackage depends on (runs apt-get update once if needed). */
export function kernelPackageName(arch: PayloadArch = 'amd64'): string {
  const meta = arch === 'amd64' ? 'linux-image-amd64' : `linux-image-${arch}:${arch}`;
  const read = (): string | null => {
    const out = sh('apt-cache', ['depends', meta], { allowFail: true });
    const m = new RegExp(`Depends:\\s+(linux-image-[0-9][^\\s:]*-${arch})\\b`).exec(out);
    return m?.[1] ?? null;
  };
  let name = read();
  if (!name) {
    sh('apt-get', ['update', '-q']);
    name = read();
  }
  if (!name) throw new Error(`cannot resolve ${meta} to a kernel package with apt-cache depends`);
  return arch === 'amd64' ? name : `${name}:${arch}`;
}

function downloadDeb(pkg: string, debDir: string): string {
  fs.mkdirSync(debDir, { recursive: true });
  const [base, arch] = pkg.split(':');
  const existing = fs
    .readdirSync(debDir)
    .find((f) => f.startsWith(`${base}_`) && f.endsWith('.deb') && (arch === undefined || f.endsWith(`_${arch}.deb`)));
  if (existing) return path.join(debDir, existing);
  const tmp = fs.mkdtempSync(path.join(debDir, '.dl-'));
  try {
    // apt-get download writes into the current directory; run it through sh -c with cd.
    sh('sh', ['-c', 'cd "$1" && apt-get download -q "$2"', 'sh', tmp, pkg]);
    const file = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!file) throw new Error(`apt-get download ${pkg} produced no .deb`);
    fs.renameSync(path.join(tmp, file), path.join(debDir, file));
    return path.join(debDir, file);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Module name -> path inside the .deb, from its file listing. */
function moduleIndex(deb: string): Map<string, string> {
  const listing = sh('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -t', 'sh', deb]);
  const index = new Map<string, string>();
  for (const line of listing.split('\n')) {
    const m = /\/([^/]+)\.ko(\.xz|\.zst)?$/.exec(line);
    if (m?.[1] && line.includes('/lib/modules/')) index.set(m[1].replace(/-/g, '_'), line);
  }
  return index;
}

function extract(deb: string, dest: string, members: string[]): void {
  const script = 'd="$1"; t="$2"; shift 2; dpkg-deb --fsys-tarfile "$d" | tar -x -C "$t" --wildcards "$@"';
  sh('sh', ['-c', script, 'sh', deb, dest, ...members]);
}

function readModule(file: string): Buffer {
  if (file.endsWith('.xz')) return Buffer.from(sh('sh', ['-c', 'xz -dc "$1" | base64 -w0', 'sh', file]), 'base64');
  if (file.endsWith('.zst')) return Buffer.from(sh('sh', ['-c', 'zstd -dc "$1" | base64 -w0', 'sh', file]), 'base64');
  return fs.readFileSync(file);
}

/** busybox for the guest: the host's for amd64, else the static binary from busybox-static:<arch>. */
function busyboxFor(arch: PayloadArch, root: string): Buffer {
  if (arch === 'amd64') return fs.readFileSync(BUSYBOX);
  const deb = downloadDeb(`busybox-static:${arch}`, path.join(root, 'debs'));
  const work = fs.mkdtempSync(path.join(root, '.bb-'));
  try {
    extract(deb, work, ['./bin/busybox']);
    return fs.readFileSync(path.join(work, 'bin', 'busybox'));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Builds (or reuses) the payload. Synchronous; the first build takes ~10 s (download + extraction). arm64 needs
 * arm64 as a dpkg foreign architecture (scripts/test-deps.sh).
 */
export function ensurePayload(arch: PayloadArch = 'amd64'): Payload {
  const root = path.join(cacheDir, 'e2e');
  const kernelPackage = kernelPackageName(arch);
  const busybox = busyboxFor(arch, root);
  const key = sha256(
    JSON.stringify({ kernelPackage, busybox: sha256(busybox), INIT, UDHCPC_SCRIPT, ROOT_MODULES, v: 1 }),
  ).slice(0, 16);
  const dir = path.join(root, arch === 'amd64' ? `payload-${key}` : `payload-${arch}-${key}`);
  const manifestFile = path.join(dir, 'manifest.json');
  if (fs.existsSync(manifestFile)) {
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Omit<Payload, 'dir' | 'kernel' | 'initrd'>;
    return { ...manifest, dir, kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img') };
  }

  const deb = downloadDeb(kernelPackage, path.join(root, 'debs'));
  const work = fs.mkdtempSync(path.join(root, '.build-'));
  try {
    const index = moduleIndex(deb);
    // One pass for the kernel and the usual NIC driver folders (each pass decompresses the whole .deb).
    extract(deb, work, ['./boot/vmlinuz-*', '*/kernel/drivers/virtio/*', '*/kernel/drivers/net/*', '*/kernel/net/core/*']);
    // Resolve dependencies depth-first so each module is loaded after everything it depends on.
    const order: string[] = [];
    const files = new Map<string, string>();
    const visit = (name: string, stack: string[]): void => {
      if (order.includes(name)) return;
      if (stack.includes(name)) throw new Error(`module dependency cycle: ${[...stack, name].join(' -> ')}`);
      const member = index.get(name);
      if (!member) throw new Error(`module ${name} not found in ${path.basename(deb)}`);
      const file = path.join(work, member);
      if (!fs.existsSync(file)) extract(deb, work, [member]);
      files.set(name, file);
      const depends = sh('modinfo', ['-F', 'depends', file]).trim();
      for (const dep of depends.split(',').filter(Boolean)) visit(dep.replace(/-/g, '_'), [...stack, name]);
      order.push(name);
    };
    // arm64 (qemu virt + virtio-net-pci): only the virtio modules, those the package builds as modules (the rest
    // are built in).
    const roots = arch === 'amd64' ? ROOT_MODULES : ['virtio_pci', 'virtio_net'].filter((m) => index.has(m));
    for (const m of roots) visit(m, []);

    const bootDir = path.join(work, 'boot');
    const vmlinuz = fs.readdirSync(bootDir).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`no boot/vmlinuz-* in ${path.basename(deb)}`);

    const entries: CpioEntry[] = [
      ...['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'lib', 'lib/modules', 'etc'].map(
        (p): CpioEntry => ({ kind: 'dir', path: p }),
      ),
      // The kernel opens /dev/console before /init runs; without the node init has no stdout.
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
      { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
      { kind: 'file', path: 'init', data: Buffer.from(INIT), mode: 0o755 },
      { kind: 'file', path: 'udhcpc.sh', data: Buffer.from(UDHCPC_SCRIPT), mode: 0o755 },
      { kind: 'file', path: 'lib/modules/load-order', data: Buffer.from(`${order.join('\n')}\n`) },
      ...order.map((m): CpioEntry => ({ kind: 'file', path: `lib/modules/${m}.ko`, data: readModule(files.get(m)!) })),
    ];
    const initrd = gzipSync(cpioNewc(entries), { level: 9 });

    const staged = `${dir}.tmp-${process.pid}`;
    fs.rmSync(staged, { recursive: true, force: true });
    fs.mkdirSync(staged, { recursive: true });
    fs.copyFileSync(path.join(bootDir, vmlinuz), path.join(staged, 'vmlinuz'));
    fs.writeFileSync(path.join(staged, 'initrd.img'), initrd);
    const manifest = { kernelPackage, modules: order };
    fs.writeFileSync(path.join(staged, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // 0755 all the way so servers that drop privileges (dnsmasq -> nobody) can read it.
    fs.chmodSync(staged, 0o755);
    fs.renameSync(staged, dir);
    return { ...manifest, dir, kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img') };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
