// What the offline commands (`pxed render`, `pxed config check`, `pxed assets`) share: which provisioning files to
// read (flag > daemon config > configs/ default), and the daemon's rendering path (boot/render.ts) built over the
// config files alone, with the placeholder token and no registry.

import path from 'node:path';
import type { DaemonConfig } from '../config/daemon.js';
import type { ProvisioningFiles } from '../config/load.js';
import type { Provisioning } from '../config/provisioning.js';
import { silentLogger } from '../log.js';
import { createOsProfiles } from '../boot/os/index.js';
import { ScriptRenderer } from '../boot/render.js';
import type { CliIO } from './io.js';

/** The provisioning-file flags every offline command takes. */
export const provisioningFlags = {
  defaults: { type: 'string' },
  'vm-specs': { type: 'string' },
  'install-config': { type: 'string' },
} as const;

/** A path as given on the command line, made absolute against the command's cwd ("-" = standard input). */
export function resolveArg(io: CliIO, f: string): string {
  return f === '-' || path.isAbsolute(f) ? f : path.resolve(io.cwd, f);
}

/** Flag, else the daemon config's provisioning path, else configs/<file> (via `asGiven`). */
export function provisioningFiles(
  values: { defaults?: string | undefined; 'vm-specs'?: string | undefined; 'install-config'?: string | undefined },
  daemon: Readonly<DaemonConfig> | null,
  asGiven: (f: string) => string,
): ProvisioningFiles {
  const pick = (flag: string | undefined, fromDaemon: string | undefined, fallback: string): string =>
    flag !== undefined ? asGiven(flag) : (fromDaemon ?? asGiven(fallback));
  return {
    defaults: pick(values.defaults, daemon?.provisioning.defaults, 'configs/defaults.yaml'),
    vmSpecs: pick(values['vm-specs'], daemon?.provisioning.vm_specs, 'configs/vm_specs.yaml'),
    installConfig: pick(values['install-config'], daemon?.provisioning.install_config, 'configs/install_config.yaml'),
  };
}

/** pxed's own base URLs: http://<server>:<port> and defaults.yaml http.public_url (catalog URLs under them are local). */
export function selfUrls(prov: Readonly<Provisioning>, serverUrl: string): string[] {
  const pub = prov.defaults.http?.public_url;
  return pub !== undefined ? [serverUrl, pub.replace(/\/+$/, '')] : [serverUrl];
}

export interface OfflineRenderer {
  renderer: ScriptRenderer;
  serverUrl: string;
}

/** The daemon's renderer over the config files (NixOS netboot.ipxe copies read from `assetRoots`). */
export async function offlineRenderer(
  prov: Readonly<Provisioning>,
  opts: { server: string; port: number; assetRoots: readonly string[] },
): Promise<OfflineRenderer> {
  const { profiles } = await createOsProfiles({ images: prov.defaults.images, assetRoots: opts.assetRoots });
  const serverUrl = `http://${opts.server}:${opts.port}`;
  const renderer = new ScriptRenderer(
    {
      provisioning: prov,
      settings: { serverAddress: opts.server, httpPort: opts.port, localBoot: { bios: 'sanboot', efi: 'exit' } },
      log: silentLogger,
      serverUrl,
    },
    profiles,
  );
  return { renderer, serverUrl };
}
