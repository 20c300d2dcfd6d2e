// `pxed machines add|list|show|rm|reinstall`: the local machine registry from the command line. Safe next to a
// running daemon: both open the same SQLite file (WAL), and each command is one short transaction.
import { escapeField } from '../escape.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findDaemonConfig } from '../../appliance/paths.js';
import { loadDaemonConfig, loadProvisioning } from '../../config/load.js';
import type { DaemonConfig } from '../../config/daemon.js';
import { PxedError, isPxedError } from '../../errors.js';
import { MachineOperations, checkMachineInput, type MachineInput } from '../../machines/operations.js';
import { isMachineState } from '../../model/machine.js';
import { parseMac } from '../../net/mac.js';
import { openRegistry, type SqliteRegistry } from '../../registry/sqlite.js';
import { MACHINE_STATES, type Machine } from '../../model/machine.js';
import { describeEvent, type BootEvent } from '../../model/events.js';
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command, type OptionSpec } from '../io.js';

const HELP = `Usage: pxed machines <subcommand> [options]

Subcommands:
  add <mac> --host NAME [--install-mode once|always]
                      register a machine for the install entry NAME (a key of install_config.yaml)
  list [--state S]    list machines, optionally only those in state S
  show <mac> [--events N]
                      one machine and its last N events (default 20)
  rm <mac>            delete a machine with its events and tokens
  reinstall <mac>     re-arm a machine: back to "registered", live boot tokens revoked

MACs may be written aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF or aabb.ccdd.eeff.
States: ${MACHINE_STATES.join(', ')}.

Options:
  --db FILE            registry database (default: the daemon config's registry.database, else ./var/pxed.db)
  --config F           daemon config to take the database and provisioning paths from
                       (default: configs/pxed.yaml, else /etc/pxed/pxed.yaml, when it exists)
  --defaults F         defaults.yaml, for checking --host (default: the daemon config's, else configs/defaults.yaml)
  --vm-specs F         vm_specs.yaml (default: the daemon config's, else configs/vm_specs.yaml)
  --install-config F   install_config.yaml (default: the daemon config's, else configs/install_config.yaml)
  --json               print data as JSON on stdout
  --help               show this help

Exit status: 0 ok; 1 failure (no such machine, already registered, transition refused); 2 usage or config error
(bad MAC, unknown host, invalid configuration).
`;

const FALLBACK_DB = 'var/pxed.db';

const COMMON = {
  db: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies OptionSpec;

type CommonValues = { db?: string; config?: string; json?: boolean };

/** Where the database and the provisioning inputs are, resolved lazily: a daemon config is read only when needed. */
class Locations {
  private daemon: Readonly<DaemonConfig> | null | undefined;

  constructor(
    private readonly io: CliIO,
    private readonly values: CommonValues,
  ) {}

  abs(p: string): string {
    return p === '-' ? p : path.resolve(this.io.cwd, p);
  }

  /** The --config file, else configs/pxed.yaml or /etc/pxed/pxed.yaml when one exists, else null. */
  daemonConfig(): Readonly<DaemonConfig> | null {
    if (this.daemon === undefined) {
      const explicit = this.values.config;
      const file = explicit !== undefined ? this.abs(explicit) : findDaemonConfig(this.io.cwd);
      this.daemon = file !== null ? loadDaemonConfig(file, { cwd: this.io.cwd }) : null;
    }
    return this.daemon;
  }

  db(): string {
    if (this.values.db !== undefined) return this.abs(this.values.db);
    return this.daemonConfig()?.registry.database ?? this.abs(FALLBACK_DB);
  }
}

function macArg(positionals: string[], sub: string): string {
  const [raw, extra] = positionals;
  if (raw === undefined) throw usageError(`missing <mac>; usage: pxed machines ${sub} <mac>`);
  if (extra !== undefined) throw usageError(`unexpected argument "${extra}"`);
  const mac = parseMac(raw);
  if (mac === null) throw usageError(`"${raw}" is not a MAC address (expected aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff)`);
  return mac;
}

function table(head: string[], raw: string[][]): string {
  const rows = raw.map((r) => r.map(escapeField));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function machineRows(machines: Machine[]): string {
  return table(
    ['MAC', 'HOST', 'STATE', 'MODE', 'IP', 'SINCE'],
    machines.map((m) => [m.mac, m.host ?? '-', m.state, m.installMode, m.ip ?? '-', m.stateChangedAt]),
  );
}

function describeMachine(m: Machine): string {
  const fields: [string, string][] = [
    ['mac', m.mac],
    ['host', m.host ?? '-'],
    ['state', `${m.state} (since ${m.stateChangedAt})`],
    ['install mode', m.installMode],
    ['ip', m.ip ?? '-'],
    ['arch', m.arch === null ? '-' : String(m.arch)],
    ['firmware', m.firmware ?? '-'],
    ['uuid', m.uuid ?? '-'],
    ['vendor class', m.vendorClass ?? '-'],
    ['overrides', Object.keys(m.overrides).length === 0 ? '-' : JSON.stringify(m.overrides)],
    ['created', m.createdAt],
    ['updated', m.updatedAt],
  ];
  return fields.map(([k, v]) => `${(k + ':').padEnd(14)}${escapeField(v)}\n`).join('');
}

function eventLine(e: BootEvent): string {
  const text = describeEvent(e);
  return `  ${escapeField(e.time)}  #${e.id}  ${escapeField(e.kind)}${text === '' ? '' : '  ' + escapeField(text)}\n`;
}

function json(io: CliIO, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}

/** Runs `fn` on the registry at `file` (created, with its directory, if absent) and closes it. */
function withRegistry<T>(file: string, fn: (reg: SqliteRegistry) => T): T {
  const reg = openRegistry(file);
  try {
    return fn(reg);
  } finally {
    reg.close();
  }
}

function notFound(io: CliIO, mac: string, db: string): number {
  io.stderr(`pxed machines: no machine with MAC ${mac} in ${db}\n`);
  return EXIT_FAILURE;
}

async function add(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...COMMON,
    host: { type: 'string' },
    'install-mode': { type: 'string' },
    defaults: { type: 'string' },
    'vm-specs': { type: 'string' },
    'install-config': { type: 'string' },
  });
  const mac = macArg(positionals, 'add');
  const hostName = values.host;
  if (hostName === undefined || hostName === '') throw usageError('missing --host <install-entry>');
  const mode = values['install-mode'];
  if (mode !== undefined && mode !== 'once' && mode !== 'always') throw usageError(`--install-mode must be once or always, not "${mode}"`);

  const loc = new Locations(io, values);
  const needDaemon = values.defaults === undefined || values['vm-specs'] === undefined || values['install-config'] === undefined;
  const daemon = needDaemon ? loc.daemonConfig() : null;
  const pick = (flag: string | undefined, fromDaemon: string | undefined, fallback: string): string =>
    flag !== undefined ? loc.abs(flag) : (fromDaemon ?? loc.abs(fallback));
  const prov = await loadProvisioning(
    {
      defaults: pick(values.defaults, daemon?.provisioning.defaults, 'configs/defaults.yaml'),
      vmSpecs: pick(values['vm-specs'], daemon?.provisioning.vm_specs, 'configs/vm_specs.yaml'),
      installConfig: pick(values['install-config'], daemon?.provisioning.install_config, 'configs/install_config.yaml'),
    },
    { readStdin: io.readStdin },
  );
  // One set of machine operations (src/machines), with the API's checks; made before the database is opened
  // (a refused add writes nothing). A machine the daemon discovered is adopted.
  const input: MachineInput = { mac, host: hostName, ...(mode !== undefined ? { installMode: mode } : {}) };
  try {
    checkMachineInput(prov, input);
  } catch (err) {
    if (!isPxedError(err, 'MACHINE_BAD_INPUT')) throw err;
    const known = prov.hosts.map((h) => h.name).join(', ') || 'none';
    throw usageError(prov.hostByName(hostName) === null ? `${err.message} (not in ${prov.sources.installConfig}; known: ${known})` : err.message);
  }
  const db = loc.db();
  const machine = withRegistry(db, (reg) =>
    new MachineOperations({ registry: reg, provisioning: prov, installMode: daemon?.policy.install_mode ?? 'once' }).create(input, 'cli'),
  );
  if (values.json) json(io, machine);
  else io.stdout(`registered ${machine.mac} as ${machine.host} (install mode ${machine.installMode}) in ${db}\n`);
  return EXIT_OK;
}

function list(argv: string[], io: CliIO): number {
  const { values, positionals } = parseCommandArgs(argv, { ...COMMON, state: { type: 'string' } });
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
  const state = values.state;
  if (state !== undefined && !isMachineState(state)) throw usageError(`unknown state "${state}"; expected one of ${MACHINE_STATES.join(', ')}`);
  const db = new Locations(io, values).db();
  // Reading never creates the database: a missing file is an empty registry.
  const machines = existsSync(db) ? withRegistry(db, (reg) => reg.machineList(state === undefined ? {} : { state })) : [];
  if (values.json) json(io, machines);
  else if (machines.length === 0) io.stdout(`no machines${state === undefined ? '' : ` in state ${state}`}\n`);
  else io.stdout(machineRows(machines));
  return EXIT_OK;
}

function show(argv: string[], io: CliIO): number {
  const { values, positionals } = parseCommandArgs(argv, { ...COMMON, events: { type: 'string' } });
  const mac = macArg(positionals, 'show');
  const n = values.events === undefined ? 20 : Number(values.events);
  if (!Number.isInteger(n) || n < 0) throw usageError(`--events must be a non-negative integer, not "${values.events}"`);
  const db = new Locations(io, values).db();
  if (!existsSync(db)) return notFound(io, mac, db);
  const found = withRegistry(db, (reg) => {
    const machine = reg.machineGet(mac);
    return machine === null ? null : { machine, events: n === 0 ? [] : reg.eventList(mac).slice(-n) };
  });
  if (found === null) return notFound(io, mac, db);
  if (values.json) json(io, found);
  else io.stdout(describeMachine(found.machine) + (n === 0 ? '' : `events (last ${n}):\n${found.events.map(eventLine).join('')}`));
  return EXIT_OK;
}

function rm(argv: string[], io: CliIO): number {
  const { values, positionals } = parseCommandArgs(argv, COMMON);
  const mac = macArg(positionals, 'rm');
  const db = new Locations(io, values).db();
  if (!existsSync(db) || !withRegistry(db, (reg) => reg.machineDelete(mac))) return notFound(io, mac, db);
  if (values.json) json(io, { mac, deleted: true });
  else io.stdout(`deleted ${mac}\n`);
  return EXIT_OK;
}

function reinstall(argv: string[], io: CliIO): number {
  const { values, positionals } = parseCommandArgs(argv, COMMON);
  const mac = macArg(positionals, 'reinstall');
  const db = new Locations(io, values).db();
  if (!existsSync(db)) return notFound(io, mac, db);
  const machine = withRegistry(db, (reg) => {
    if (reg.machineGet(mac) === null) return null;
    // The install mode default is not used by reinstall.
    const ops = new MachineOperations({ registry: reg, provisioning: { hostByName: () => null }, installMode: 'once' });
    try {
      return ops.reinstall(mac, 'cli');
    } catch (err) {
      if (isPxedError(err, 'MACHINE_CONFLICT')) throw new PxedError('MACHINE_CONFLICT', `${err.message} with "pxed machines add ${mac} --host NAME"`, err.details);
      throw err;
    }
  });
  if (machine === null) return notFound(io, mac, db);
  if (values.json) json(io, machine);
  else io.stdout(`re-armed ${mac} (${machine.host ?? '-'}): registered; it installs on its next network boot\n`);
  return EXIT_OK;
}

const SUBCOMMANDS = new Map<string, (argv: string[], io: CliIO) => number | Promise<number>>([
  ['add', add],
  ['list', list],
  ['show', show],
  ['rm', rm],
  ['reinstall', reinstall],
]);

export const machinesCommand: Command = {
  name: 'machines',
  summary: 'manage the machine registry (add, list, show, rm, reinstall)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    const fn = sub === undefined ? undefined : SUBCOMMANDS.get(sub);
    if (fn === undefined) {
      const expected = [...SUBCOMMANDS.keys()].join(', ');
      throw usageError(sub === undefined ? `missing subcommand; expected one of ${expected}` : `unknown subcommand "${sub}"; expected one of ${expected}`);
    }
    return fn(rest, io);
  },
};
