// `pxed config check`: validates the daemon config and the three provisioning inputs, prints a per-host summary.
import { escapeField } from '../escape.js';
import path from 'node:path';
import { isPxedError } from '../../errors.js';
import { loadDaemonConfig, loadProvisioning, formatIssue, type ConfigIssue } from '../../config/load.js';
import type { DaemonConfig } from '../../config/daemon.js';
import type { HostSpec } from '../../config/provisioning.js';
import { EXIT_OK, EXIT_USAGE, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';

const HELP = `Usage: pxed config check [options]

Validates the provisioning inputs (and the daemon config when given) and prints one line per host:
host, hypervisor, boot method, OS and version, primary MAC, IP address (or dhcp).
All errors are reported at once as file:line:col: key.path: message; exit status 2 when any.

Options:
  --defaults F         defaults.yaml (default: configs/defaults.yaml, or the daemon config's provisioning.defaults)
  --vm-specs F         vm_specs.yaml (default: configs/vm_specs.yaml, or provisioning.vm_specs)
  --install-config F   install_config.yaml (default: configs/install_config.yaml, or provisioning.install_config)
                       Any one of the three may be "-" to read standard input.
  --daemon-config F    also validate this pxed.yaml; its provisioning paths become the defaults
  --json               print the result as JSON on stdout
  --verbose            also print notes: how keys of the original framework (provision.py) were read, and
                       values pxed derived (e.g. MACs from host names)
  --help               show this help
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

function issuesOf(err: unknown): ConfigIssue[] | null {
  if (isPxedError(err, 'CONFIG_INVALID') && Array.isArray(err.details?.issues)) return err.details.issues as ConfigIssue[];
  return null;
}

async function check(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    defaults: { type: 'string' },
    'vm-specs': { type: 'string' },
    'install-config': { type: 'string' },
    'daemon-config': { type: 'string' },
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
  const pick = (flag: string | undefined, fromDaemon: string | undefined, fallback: string) =>
    flag !== undefined ? asGiven(flag) : (fromDaemon ?? asGiven(fallback));
  const files = {
    defaults: pick(values.defaults, daemon?.provisioning.defaults, 'configs/defaults.yaml'),
    vmSpecs: pick(values['vm-specs'], daemon?.provisioning.vm_specs, 'configs/vm_specs.yaml'),
    installConfig: pick(values['install-config'], daemon?.provisioning.install_config, 'configs/install_config.yaml'),
  };
  let hosts: HostSummary[] = [];
  let notes: readonly ConfigIssue[] = [];
  try {
    const prov = await loadProvisioning(files, { readStdin: io.readStdin });
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
  if (values.json) {
    io.stdout(JSON.stringify({ ok: true, files, daemon_config: daemon !== null, hosts, ...(values.verbose ? { notes } : {}) }, null, 2) + '\n');
  } else {
    io.stdout(table(hosts));
    io.stdout(`${hosts.length} host${hosts.length === 1 ? '' : 's'} OK${daemon ? '; daemon config OK' : ''}\n`);
    if (values.verbose && notes.length > 0) io.stdout(`notes:\n${notes.map((n) => `  ${formatIssue(n)}\n`).join('')}`);
  }
  return EXIT_OK;
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
