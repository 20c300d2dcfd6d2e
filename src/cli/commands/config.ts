// `pxed config check`: validates the daemon config and the three provisioning inputs, prints a per-host summary.
import { escapeField, escapeText } from '../escape.js';
import path from 'node:path';
import { catalogAssets, type AssetSpec } from '../../assets/catalog.js';
import { checkHostBoot, type BootProblem } from '../../assets/bootable.js';
import { describeError, isPxedError } from '../../errors.js';
import { loadDaemonConfig, loadProvisioning, formatIssue, type ConfigIssue } from '../../config/load.js';
import type { DaemonConfig } from '../../config/daemon.js';
import type { HostSpec, Provisioning } from '../../config/provisioning.js';
import { offlineRenderer, provisioningFiles, provisioningFlags, resolveArg, selfUrls, type OfflineRenderer } from '../offline.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';

const HELP = `Usage: pxed config check [options]

Validates the provisioning inputs (and the daemon config when given) and prints one line per host:
host, hypervisor, boot method, OS and version, primary MAC, IP address (or dhcp).
All errors are reported at once as file:line:col: key.path: message; exit status 2 when any.

Then renders every PXE host's artifacts offline (iPXE script, user-data, NixOS files: what \`pxed render\` prints)
and checks every asset its boot loads from pxed itself (NixOS netboot.ipxe, asset-relative catalog entries):
a missing asset or an artifact that fails to render is an error (exit status 1), an asset without a verified
checksum a warning; each names the \`pxed assets fetch\` command that fixes it.

Options:
  --defaults F         defaults.yaml (default: configs/defaults.yaml, or the daemon config's provisioning.defaults)
  --vm-specs F         vm_specs.yaml (default: configs/vm_specs.yaml, or provisioning.vm_specs)
  --install-config F   install_config.yaml (default: configs/install_config.yaml, or provisioning.install_config)
                       Any one of the three may be "-" to read standard input.
  --daemon-config F    also validate this pxed.yaml; its provisioning paths, asset roots, address and port are used
  --asset-root DIR     an asset root to check assets in (repeatable; adds to the daemon config's http.asset_roots)
  --json               print the result as JSON on stdout
  --verbose            also print notes: how keys of the original framework (provision.py) were read, and
                       values pxed derived (e.g. MACs from host names)
  --help               show this help

Exit status: 0 valid and every PXE host can boot (warnings allowed), 1 a host cannot boot, 2 invalid configuration.
`;

export interface HostSummary {
  host: string;
  hypervisor: string;
  boot_method: string;
  os: string;
  mac: string | null;
  /** address_cidr, or "dhcp". */
  ip: string;
}

export function summarizeHost(h: HostSpec): HostSummary {
  return {
    host: h.name,
    hypervisor: h.hypervisor,
    boot_method: h.boot_method,
    os: h.install.version === null ? h.install.os : `${h.install.os} ${h.install.version}`,
    mac: h.mac,
    ip: h.install.network.dhcp ? 'dhcp' : (h.install.network.address_cidr ?? '-'),
  };
}

function table(rows: HostSummary[]): string {
  const head = ['HOST', 'HYPERVISOR', 'BOOT', 'OS', 'MAC', 'IP'];
  const cells = rows.map((r) => [r.host, r.hypervisor, r.boot_method, r.os, r.mac ?? '-', r.ip].map(escapeField));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}

/** Placeholder MAC for rendering a PXE host whose MAC is not in the configuration yet (locally administered). */
const PLACEHOLDER_MAC = '02:00:00:00:00:00';

/**
 * Renders every PXE host's artifacts through the one offline rendering path and checks the assets each boot loads
 * from pxed (src/assets/bootable.ts). Hosts booted from an ISO or image are not netbooted and not rendered.
 */
async function checkBoot(prov: Readonly<Provisioning>, daemon: Readonly<DaemonConfig> | null, assetRoots: readonly string[]): Promise<BootProblem[]> {
  const pxeHosts = prov.hosts.filter((h) => h.boot_method === 'pxe');
  if (pxeHosts.length === 0) return [];
  const server = daemon?.server.address ?? '127.0.0.1';
  let offline: OfflineRenderer;
  let specs: AssetSpec[];
  try {
    offline = await offlineRenderer(prov, { server, port: daemon?.http.port ?? 8080, assetRoots });
    specs = catalogAssets(prov.defaults.images, selfUrls(prov, offline.serverUrl));
  } catch (err) {
    // A netboot.ipxe copy that does not parse, a catalog URL without a usable file name.
    return [{ host: '(catalog)', severity: 'error', message: describeError(err), fix: null }];
  }
  const opts = { serverUrl: offline.serverUrl, selfUrls: selfUrls(prov, offline.serverUrl), assetRoots, specs };
  const out: BootProblem[] = [];
  for (const host of pxeHosts) {
    // A host without an image entry (the original framework's files have no netboot catalog) is reported by the
    // notes; rendering it would only repeat that.
    if (host.install.os !== 'custom' && host.image === null) continue;
    out.push(...(await checkHostBoot(offline.renderer, host, host.mac ?? PLACEHOLDER_MAC, opts)));
  }
  return out;
}

function issuesOf(err: unknown): ConfigIssue[] | null {
  if (isPxedError(err, 'CONFIG_INVALID') && Array.isArray(err.details?.issues)) return err.details.issues as ConfigIssue[];
  return null;
}

async function check(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...provisioningFlags,
    'daemon-config': { type: 'string' },
    'asset-root': { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
  });
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"; see "pxed config check --help"`);
  // Paths as the operator wrote them (so messages name them the same way), made absolute only when cwd differs.
  const asGiven = (f: string) => (f === '-' || path.isAbsolute(f) || io.cwd === process.cwd() ? f : path.resolve(io.cwd, f));

  const issues: ConfigIssue[] = [];
  let daemon: Readonly<DaemonConfig> | null = null;
  if (values['daemon-config'] !== undefined) {
    try {
      daemon = loadDaemonConfig(asGiven(values['daemon-config']), { cwd: io.cwd });
    } catch (err) {
      const found = issuesOf(err);
      if (!found) throw err;
      issues.push(...found);
    }
  }
  const files = provisioningFiles(values, daemon, asGiven);
  let hosts: HostSummary[] = [];
  let notes: readonly ConfigIssue[] = [];
  let prov: Readonly<Provisioning> | null = null;
  try {
    prov = await loadProvisioning(files, { readStdin: io.readStdin });
    hosts = prov.hosts.map(summarizeHost);
    notes = prov.notes;
  } catch (err) {
    const found = issuesOf(err);
    if (!found) throw err;
    issues.push(...found);
  }

  if (issues.length > 0) {
    const n = issues.length;
    io.stderr(`pxed config check: invalid configuration (${n} error${n === 1 ? '' : 's'}):\n${issues.map((i) => `  ${formatIssue(i)}\n`).join('')}`);
    if (values.json) io.stdout(JSON.stringify({ ok: false, issues }, null, 2) + '\n');
    return EXIT_USAGE;
  }
  const assetRoots = [...(daemon?.http.asset_roots ?? []), ...(values['asset-root'] ?? []).map((r) => resolveArg(io, r))];
  const boot = await checkBoot(prov!, daemon, assetRoots);
  const errors = boot.filter((p) => p.severity === 'error').length;
  const warnings = boot.length - errors;
  if (values.json) {
    const out = { ok: errors === 0, files, daemon_config: daemon !== null, hosts, boot, ...(values.verbose ? { notes } : {}) };
    io.stdout(JSON.stringify(out, null, 2) + '\n');
  } else {
    io.stdout(table(hosts));
    for (const p of boot) io.stdout(`${escapeField(p.host)}: ${p.severity}: ${escapeText(p.message)}\n${p.fix !== null ? `  fix: ${escapeText(p.fix)}\n` : ''}`);
    const n = hosts.length;
    const plural = (k: number, word: string): string => `${k} ${word}${k === 1 ? '' : 's'}`;
    const broken = new Set(boot.filter((p) => p.severity === 'error').map((p) => p.host)).size;
    const tail = `${daemon ? '; daemon config OK' : ''}${warnings > 0 ? `; ${plural(warnings, 'warning')}` : ''}`;
    io.stdout(errors === 0 ? `${plural(n, 'host')} OK${tail}\n` : `${plural(n, 'host')} valid; ${broken} cannot boot (${plural(errors, 'error')})${tail}\n`);
    if (values.verbose && notes.length > 0) io.stdout(`notes:\n${notes.map((n) => `  ${formatIssue(n)}\n`).join('')}`);
  }
  return errors === 0 ? EXIT_OK : EXIT_FAILURE;
}

export const configCommand: Command = {
  name: 'config',
  summary: 'validate configuration files (config check)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'check') return check(rest, io);
    throw usageError(sub === undefined ? 'missing subcommand; expected "check"' : `unknown subcommand "${sub}"; expected "check"`);
  },
};
