// A small lab for the asset tests: an Ubuntu-like ISO built with xorriso (casper/vmlinuz, casper/initrd), NixOS-like
// files, a catalog and provisioning files in a temporary directory, and `pxed` run in-process.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/cli.js';
import type { CliIO } from '../../src/cli/io.js';
import { fixtures } from '../helpers/paths.js';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface Lab {
  dir: string;
  root: string;
  kernel: Buffer;
  initrd: Buffer;
  iso: Buffer;
  nixKernel: Buffer;
  nixInitrd: Buffer;
  netboot: Buffer;
}

export function makeLab(prefix: string): Lab {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const src = path.join(dir, 'iso-src');
  mkdirSync(path.join(src, 'casper'), { recursive: true });
  const kernel = randomBytes(70_000);
  const initrd = randomBytes(90_000);
  writeFileSync(path.join(src, 'casper', 'vmlinuz'), kernel);
  writeFileSync(path.join(src, 'casper', 'initrd'), initrd);
  const isoFile = path.join(dir, 'ubuntu.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-V', 'PXED_TEST', '-o', isoFile, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  const root = path.join(dir, 'assets');
  mkdirSync(root);
  return {
    dir,
    root,
    kernel,
    initrd,
    iso: readFileSync(isoFile),
    nixKernel: randomBytes(40_000),
    nixInitrd: randomBytes(50_000),
    netboot: readFileSync(fixtures('os', 'assets', 'nixos', '25.05', 'netboot.ipxe')),
  };
}

/**
 * Writes defaults.yaml (with `images`), vm_specs.yaml, install_config.yaml (alpha: ubuntu 24.04, beta: nixos 25.05)
 * and pxed.yaml (asset root ./assets). Returns the `pxed assets` flags naming that daemon config.
 */
export function writeConfig(lab: Lab, images: Record<string, unknown>): string[] {
  const yaml = (o: unknown): string => JSON.stringify(o, null, 2);
  writeFileSync(path.join(lab.dir, 'defaults.yaml'), yaml({ images, vm: { proxmox: { node: 'pve1' } } }));
  writeFileSync(
    path.join(lab.dir, 'vm_specs.yaml'),
    yaml({
      vms: [
        { name: 'alpha', hypervisor: 'proxmox', boot_method: 'pxe', netifs: [{ mac: '52:54:00:00:00:01' }] },
        { name: 'beta', hypervisor: 'proxmox', boot_method: 'pxe', netifs: [{ mac: '52:54:00:00:00:02' }] },
      ],
    }),
  );
  writeFileSync(
    path.join(lab.dir, 'install_config.yaml'),
    yaml({ installs: { alpha: { os: 'ubuntu', version: '24.04' }, beta: { os: 'nixos', version: '25.05' } } }),
  );
  writeFileSync(
    path.join(lab.dir, 'pxed.yaml'),
    yaml({
      server: { address: SERVER },
      http: { port: 8080, asset_roots: ['./assets'] },
      admin: { token_file: './admin.token' },
      provisioning: { defaults: './defaults.yaml', vm_specs: './vm_specs.yaml', install_config: './install_config.yaml' },
    }),
  );
  return ['-c', 'pxed.yaml'];
}

/** server.address of the lab's pxed.yaml (http.port 8080): catalog URLs under http://SERVER:8080/assets/ are pxed's. */
export const SERVER = '192.0.2.2';

export async function pxed(lab: Lab, args: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => Promise.resolve(''),
    env: {},
    cwd: lab.dir,
    stderrIsTTY: tty,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
