// `pxed render <mac|host> <artifact>`: what a machine would get, rendered offline from the config files (no daemon,
// no live token: the placeholder PREVIEW_TOKEN stands in); a MAC the files do not name is looked up in the registry
// when one is configured (machines added with the CLI, the API or the admin page). Same renderers and validation as
// the daemon.
import { existsSync } from 'node:fs';
import { findDaemonConfig } from '../../appliance/paths.js';
import { loadDaemonConfig, loadProvisioning } from '../../config/load.js';
import type { DaemonConfig } from '../../config/daemon.js';
import { parseMac } from '../../net/mac.js';
import { isIpv4 } from '../../net/ipv4.js';
import type { HostSpec } from '../../config/provisioning.js';
import { isPxedError } from '../../errors.js';
import { openRegistry } from '../../registry/sqlite.js';
import { PREVIEW_TOKEN } from '../../boot/os-profile.js';
import { PREVIEW_ARTIFACT_NAMES, isPreviewArtifact, type ScriptRenderer } from '../../boot/render.js';
import { missingAssetWarnings } from '../../assets/bootable.js';
import { catalogAssets } from '../../assets/catalog.js';
import { offlineRenderer, provisioningFiles, provisioningFlags, resolveArg, selfUrls } from '../offline.js';
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
                       config's registry.database, also of configs/pxed.yaml or /etc/pxed/pxed.yaml when found),
                       for machines added with the CLI, the API or the admin page
  --server IP          server address in URLs (default: daemon config server.address, else 127.0.0.1)
  --http-port N        HTTP port in URLs (default: daemon config http.port, else 8080)
  --asset-root DIR     asset root: where netboot.ipxe and asset-relative catalog files are looked up (repeatable;
                       adds to the daemon's). A missing or unverified one is named on stderr with the
                       \`pxed assets fetch\` command that fixes it
  --json               print {host, mac, artifact, contentType, body[, install]} as JSON
  --help               show this help

Exit status: 0 rendered; 1 the artifact is invalid (ARTIFACT_INVALID / BOOT_SCRIPT_INVALID, the same message the
daemon logs and answers with); 2 usage error, unknown host/MAC, or invalid configuration files.
`;

function findHost(hosts: readonly HostSpec[], byName: (n: string) => HostSpec | null, byMac: (m: string) => HostSpec | null, arg: string) {
  const mac = parseMac(arg);
  const host = mac !== null ? byMac(mac) : byName(arg);
  if (host === null) {
    const names = hosts.map((h) => h.name).join(', ');
    const where = mac !== null ? 'in the provisioning files or the registry' : 'in the provisioning files';
    throw usageError(`no host ${mac !== null ? `with MAC ${mac}` : `named "${arg}"`} ${where} (hosts: ${names})`);
  }
  const useMac = mac ?? host.mac;
  if (useMac === null) throw usageError(`host "${host.name}" has no MAC in the configuration; pass the MAC it boots with instead`);
  return { host, mac: useMac };
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...provisioningFlags,
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
  if (!isPreviewArtifact(artifact)) throw usageError(`unknown artifact "${artifact}"; expected one of ${PREVIEW_ARTIFACT_NAMES.join(', ')}`);
  const asGiven = (f: string) => resolveArg(io, f);
  const daemon: Readonly<DaemonConfig> | null =
    values['daemon-config'] !== undefined ? loadDaemonConfig(asGiven(values['daemon-config']), { cwd: io.cwd }) : null;
  const prov = await loadProvisioning(provisioningFiles(values, daemon, asGiven), { readStdin: io.readStdin });

  const server = values.server ?? daemon?.server.address ?? '127.0.0.1';
  if (!isIpv4(server)) throw usageError(`--server: expected an IPv4 address, got "${server}"`);
  const portText = values['http-port'] ?? String(daemon?.http.port ?? 8080);
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw usageError(`--http-port: expected a port 1-65535, got "${portText}"`);
  }
  const port = Number(portText);
  const assetRoots = [...(daemon?.http.asset_roots ?? []), ...(values['asset-root'] ?? []).map(asGiven)];

  // A MAC the files do not name may have been added with the CLI, the API or the page: its entry is in the registry.
  const fromRegistry = (m: string): HostSpec | null => {
    // The registry of --db, else of the daemon config (--daemon-config, else the one `pxed machines` finds).
    let db = values.db !== undefined ? asGiven(values.db) : daemon?.registry.database;
    if (db === undefined) {
      const found = findDaemonConfig(io.cwd);
      db = found === null ? undefined : loadDaemonConfig(found, { cwd: io.cwd }).registry.database;
    }
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
  // The daemon's rendering path (boot/render.ts), over the config files alone.
  const { renderer, serverUrl } = await offlineRenderer(prov, { server, port, assetRoots });
  let doc: ReturnType<ScriptRenderer['preview']>;
  try {
    doc = renderer.preview({ host, mac }, artifact);
  } catch (err) {
    if (isPxedError(err, 'BOOT_NOT_FOUND')) throw usageError(`host "${host.name}" (os ${host.install.os}) has no ${artifact} artifact`);
    throw err;
  }
  const { contentType, install } = doc;
  const body = String(doc.body);
  if (install !== undefined) {
    // What the script loads from pxed itself must be in the asset roots (pxed assets fetch puts it there).
    const specs = catalogAssets(prov.defaults.images, selfUrls(prov, serverUrl));
    for (const w of await missingAssetWarnings(install, { serverUrl, selfUrls: selfUrls(prov, serverUrl), assetRoots, specs })) io.stderr(`pxed render: ${w}\n`);
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
