// A throwaway Debian root for tests that configure a real target (Ansible's chroot connection), never this machine.
// The pristine root is built once with debootstrap (bookworm, minbase, plus only the packages the playbooks need)
// under the git-ignored test/.cache/ and reused; each test works on its own copy and deletes it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, renameSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from './paths.js';

const run = promisify(execFile);

export const DEBIAN_SUITE = 'bookworm';
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
/** What post_config_common.yml installs or calls (python3-apt: Ansible's apt module installs it first when it is
 * missing), so a run needs no network. Sorted: it names the cache dir. */
export const ROOT_PACKAGES = ['chrony', 'openssh-server', 'python3', 'python3-apt', 'sudo', 'tzdata'] as const;

export interface DebianRoot {
  /** The pristine cached root: never modify it. */
  readonly dir: string;
  /** Milliseconds the build took, or null when the cache was reused. */
  readonly builtMs: number | null;
}

export function cachedRootDir(): string {
  return path.join(cacheDir, 'debootstrap', `${DEBIAN_SUITE}-minbase-${ROOT_PACKAGES.join('+')}`);
}

/** Mount points at or below `dir` (debootstrap mounts /proc and /sys inside the root while it runs). */
function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  const out: string[] = [];
  for (const l of lines) {
    const target = (l.split(' ')[1] ?? '').replace(/\\040/g, ' ');
    if (target === dir || target.startsWith(dir + '/')) out.push(target);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Removes a directory tree, unmounting anything below it first, never crossing into a mount. */
export async function removeRoot(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await run('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The cached Debian root, built on first use (about a minute or two with a warm network; see ansible/README.md).
 * A half-built root from an interrupted build is discarded and rebuilt.
 */
export async function debianRoot(): Promise<DebianRoot> {
  const dir = cachedRootDir();
  if (existsSync(path.join(dir, 'usr', 'bin', 'python3'))) return { dir, builtMs: null };
  const tmp = dir + '.tmp';
  await removeRoot(tmp);
  mkdirSync(path.dirname(dir), { recursive: true });
  const t0 = Date.now();
  await run(
    'debootstrap',
    ['--variant=minbase', `--include=${ROOT_PACKAGES.join(',')}`, DEBIAN_SUITE, tmp, DEBIAN_MIRROR],
    { maxBuffer: 64 * 1024 * 1024, timeout: 20 * 60_000 },
  );
  if (mountsUnder(tmp).length > 0) throw new Error(`debootstrap left mounts under ${tmp}`);
  renameSync(tmp, dir);
  return { dir, builtMs: Date.now() - t0 };
}

/** A private copy of the cached root (same file system, reflinked where supported); remove it with removeRoot. */
export async function throwawayRoot(base: DebianRoot): Promise<string> {
  const parent = path.join(cacheDir, 'debootstrap', 'scratch');
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(path.join(parent, 'root-'));
  await run('cp', ['-a', '--reflink=auto', base.dir + '/.', dir]);
  return dir;
}
