// `pxed render <mac|host> <artifact>`: what a machine would get, rendered offline from the config files (no daemon,
// no live token: the placeholder PREVIEW_TOKEN stands in); a MAC the files do not name is looked up in the registry.
// Same renderers and validation as the daemon.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadDaemonConfig, loadProvisioning } from '../../config/load.js';
import type { DaemonConfig } from '../../config/daemon.js';
import { normalizeMac, isIpv4 } from '../../config/net.js';
import type { HostSpec } from '../../config/provisioning.js';
import { PxedError } from '../../errors.js';
import { openRegistry } from '../../registry/sqlite.js';
import { PREVIEW_TOKEN, installContext, type InstallBoot, type OsProfiles } from '../../boot/os-profile.js';
import { createOsProfiles } from '../../boot/os/index.js';
import { renderCustomInstall } from '../../boot/custom.js';
import { PREVIEW_ARTIFACTS, type PreviewArtifact } from '../../boot/admin.js';
import { assetUrl, renderInstall as renderIpxeInstall } from '../../boot/scripts.js';
import { EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';


const HELP = `Usage: pxed render <mac|host> <artifact> [options]

Prints what a machine would get, rendered offline from the provisioning files (no daemon needed), with the same
validation the daemon applies before serving. The per-boot token is the placeholder ${PREVIEW_TOKEN}.

Artifacts:
  ipxe           the iPXE install script (kernel, initrd, command line)
  user-data      Ubuntu NoCloud user-data (#cloud-config with autoinstall:), schema-validated
  meta-data      Ubuntu NoCloud meta-data
  nixos-install  NixOS install.sh
  nixos-config   NixOS configuration.nix (static; per-host data is in nixos-host)
  nixos-host     NixOS host.json

Options:
  --defaults F         defaults.yaml (default: configs/defaults.yaml, or the daemon config's provisioning.defaults)
  --vm-specs F         vm_specs.yaml (default: configs/vm_specs.yaml)
  --install-config F   install_config.yaml (default: configs/install_config.yaml)
  --daemon-config F    pxed.yaml: server address, HTTP port, asset roots, provisioning paths and registry from it
  --db FILE            registry database: a MAC the files do not name is looked up there (default: the daemon
                       config's registry.database), for machines added with the CLI, the API or the admin page
  --server IP          server address in URLs (default: daemon config server.address, else 127.0.0.1)
  --http-port N        HTTP port in URLs (default: daemon config http.port, else 8080)
  --asset-root DIR     where <DIR>/nixos/<version>/netboot.ipxe is looked up (repeatable; adds to the daemon's)
  --json               print {host, mac, artifact, contentType, body[, install]} as JSON
  --help               show this help

Exit status: 0 rendered; 1 the artifact is invalid (ARTIFACT_INVALID / BOOT_SCRIPT_INVALID, the same message the
daemon logs and answers with); 2 usage error, unknown host/MAC, or invalid configuration files.
`;

function findHost(hosts: readonly HostSpec[], byName: (n: string) => HostSpec | null, byMac: (m: string) => HostSpec | null, arg: string) {
  const mac = normalizeMac(arg);
  const host = mac !== null ? byMac(mac) : byName(arg);
  if (host === null) {
    const names = hosts.map((h) => h.name).join(', ');
    throw usageError(`no host ${mac !== null ? `with MAC ${mac}` : `named "${arg}"`} in the provisioning files (hosts: ${names})`);
  }
  const useMac = mac ?? host.mac;
  if (useMac === null) throw usageError(`host "${host.name}" has no MAC in the configuration; pass the MAC it boots with instead`);
  return { host, mac: useMac };
}

function installBoot(profiles: OsProfiles, host: HostSpec, ctx: ReturnType<typeof installContext>, server: string, port: number): InstallBoot {
  if (host.install.os === 'custom') {
    if (host.install.custom === null) throw new PxedError('ARTIFACT_INVALID', 'custom: missing custom boot section', { field: 'install.custom' });
    return renderCustomInstall(host.install.custom, ctx, server, port);
  }
  const profile = profiles[host.install.os];
  if (profile === undefined) throw new PxedError('ARTIFACT_INVALID', `install.os: no OS profile for ${host.install.os}`, { field: 'install.os' });
  return profile.renderInstall(host, ctx);
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    defaults: { type: 'string' },
    'vm-specs': { type: 'string' },
    'install-config': { type: 'string' },
    'daemon-config': { type: 'string' },
    db: { type: 'string' },
    server: { type: 'string' },
    'http-port': { type: 'string' },
    'asset-root': { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
  });
  const [target, artifact, extra] = positionals;
  if (target === undefined || artifact === undefined) throw usageError('expected <mac|host> <artifact>; see "pxed render --help"');
  if (extra !== undefined) throw usageError(`unexpected argument "${extra}"`);
  if (!Object.hasOwn(PREVIEW_ARTIFACTS, artifact)) {
    throw usageError(`unknown artifact "${artifact}"; expected one of ${Object.keys(PREVIEW_ARTIFACTS).join(', ')}`);
  }
  const asGiven = (f: string) => (f === '-' || path.isAbsolute(f) ? f : path.resolve(io.cwd, f));
  const daemon: Readonly<DaemonConfig> | null =
    values['daemon-config'] !== undefined ? loadDaemonConfig(asGiven(values['daemon-config']), { cwd: io.cwd }) : null;
  const pick = (flag: string | undefined, fromDaemon: string | undefined, fallback: string) =>
    flag !== undefined ? asGiven(flag) : (fromDaemon ?? asGiven(fallback));
  const prov = await loadProvisioning(
    {
      defaults: pick(values.defaults, daemon?.provisioning.defaults, 'configs/defaults.yaml'),
      vmSpecs: pick(values['vm-specs'], daemon?.provisioning.vm_specs, 'configs/vm_specs.yaml'),
      installConfig: pick(values['install-config'], daemon?.provisioning.install_config, 'configs/install_config.yaml'),
    },
    { readStdin: io.readStdin },
  );

  const server = values.server ?? daemon?.server.address ?? '127.0.0.1';
  if (!isIpv4(server)) throw usageError(`--server: expected an IPv4 address, got "${server}"`);
  const portText = values['http-port'] ?? String(daemon?.http.port ?? 8080);
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw usageError(`--http-port: expected a port 1-65535, got "${portText}"`);
  }
  const port = Number(portText);
  const assetRoots = [...(daemon?.http.asset_roots ?? []), ...(values['asset-root'] ?? []).map(asGiven)];

  // A MAC the files do not name may have been added with the CLI or the API: its install entry is in the registry.
  const fromRegistry = (m: string): HostSpec | null => {
    const db = values.db !== undefined ? asGiven(values.db) : daemon?.registry.database;
    if (db === undefined || !existsSync(db)) return null;
    const reg = openRegistry(db);
    try {
      const machine = reg.machineGet(m);
      return machine?.host ? prov.hostByName(machine.host) : null;
    } finally {
      reg.close();
    }
  };
  const { host, mac } = findHost(prov.hosts, (n) => prov.hostByName(n), (m) => prov.hostByMac(m) ?? fromRegistry(m), target);
  const { profiles } = await createOsProfiles({ images: prov.defaults.images, assetRoots });
  const serverUrl = `http://${server}:${port}`;
  const ctx = installContext(serverUrl, PREVIEW_TOKEN, mac, host.install.network.hostname);
  const route = PREVIEW_ARTIFACTS[artifact as PreviewArtifact];

  let contentType: string;
  let body: string;
  let install: InstallBoot | undefined;
  if (route === null) {
    install = installBoot(profiles, host, ctx, server, port);
    contentType = 'text/plain; charset=utf-8';
    body = renderIpxeInstall({
      mac,
      hostname: host.install.network.hostname,
      os: host.install.os,
      bootId: 'preview',
      kernelUrl: assetUrl(serverUrl, install.kernel),
      initrdUrls: install.initrds.map((i) => assetUrl(serverUrl, i)),
      args: install.cmdline.split(/\s+/).filter((a) => a.length > 0),
    });
  } else {
    const profile = profiles[host.install.os];
    const doc = profile?.renderArtifact(route.family, route.name, host, ctx) ?? null;
    if (doc === null) {
      throw usageError(`host "${host.name}" (os ${host.install.os}) has no ${artifact} artifact`);
    }
    contentType = doc.contentType;
    body = String(doc.body);
  }
  if (values.json) {
    io.stdout(`${JSON.stringify({ host: host.name, mac, os: host.install.os, artifact, contentType, body, ...(install ? { install } : {}) }, null, 2)}\n`);
  } else {
    io.stdout(body.endsWith('\n') ? body : `${body}\n`);
  }
  return EXIT_OK;
}

export const renderCommand: Command = {
  name: 'render',
  summary: 'print the iPXE script or install artifact a machine would get (offline)',
  help: HELP,
  run,
};
