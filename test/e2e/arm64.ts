// Debian's signed ARM64 shim and GRUB for the ARM64 UEFI case, fetched with the ordinary apt client
// (`apt-get download shim-signed:arm64 grub-efi-arm64-signed:arm64`, which needs `dpkg --add-architecture arm64`
// and an `apt-get update`: scripts/test-deps.sh does both) and unpacked with dpkg-deb under test/.cache/e2e/.
// Nothing is installed on the host.

import fs from 'node:fs';
import path from 'node:path';
import { sh } from '../helpers/netns.js';
import { cacheDir } from '../helpers/paths.js';

const PACKAGES = ['shim-signed:arm64', 'grub-efi-arm64-signed:arm64'];

/** The candidate version of each package (the cache key), or throws with what to run. */
function candidates(): string[] {
  if (!sh('dpkg', ['--print-foreign-architectures']).split(/\s+/).includes('arm64')) {
    throw new Error('arm64 is not a dpkg architecture here: run scripts/test-deps.sh (dpkg --add-architecture arm64 && apt-get update)');
  }
  return PACKAGES.map((p) => {
    const m = /Candidate:\s+(\S+)/.exec(sh('apt-cache', ['policy', p], { allowFail: true }));
    if (!m || m[1] === '(none)') throw new Error(`apt has no candidate for ${p}: run scripts/test-deps.sh`);
    return `${p}=${m[1]}`;
  });
}

/** Roots holding shimaa64.efi.signed and grubnetaa64.efi.signed (downloaded once, cached by package version). */
export function ensureArm64Signed(): string[] {
  const pinned = candidates();
  const key = pinned.join(' ').replace(/[^A-Za-z0-9.+~=-]+/g, '_');
  const dir = path.join(cacheDir, 'e2e', `arm64-signed-${key}`.slice(0, 200));
  const roots = [path.join(dir, 'usr', 'lib', 'shim'), path.join(dir, 'usr', 'lib', 'grub', 'arm64-efi-signed')];
  if (fs.existsSync(path.join(roots[1]!, 'grubnetaa64.efi.signed')) && fs.existsSync(path.join(roots[0]!, 'shimaa64.efi.signed'))) return roots;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    sh('sh', ['-c', 'cd "$1" && shift && apt-get download -q "$@"', 'sh', tmp, ...pinned]);
    const debs = fs.readdirSync(tmp).filter((f) => f.endsWith('.deb'));
    if (debs.length !== PACKAGES.length) throw new Error(`apt-get download produced ${debs.length} .deb files, expected ${PACKAGES.length}`);
    const out = path.join(tmp, 'root');
    for (const deb of debs) sh('dpkg-deb', ['-x', path.join(tmp, deb), out]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(out, dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return roots;
}
