// `pxed machines add|list|show|rm|reinstall|adopt|edit`: written once against the machine client (src/cli/client.ts),
// which is either the local registry file or a running daemon (`--server URL`, token in PXED_TOKEN).
import { MACHINE_STATES, isMachineState, type InstallMode } from '../../model/machine.js';
import { stageView } from '../../model/stage.js';
import { parseMac } from '../../net/mac.js';
import type { MachineClient } from '../client.js';
import { machineTable, showText } from '../client-format.js';
import { CLIENT_OPTIONS, openClient } from '../client-open.js';
import { EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command, type OptionSpec } from '../io.js';

const HELP = `Usage: pxed machines <subcommand> [options]

Subcommands:
  add <mac> --host NAME [--install-mode once|always] [--force]
                      register a machine for the install entry NAME (a key of install_config.yaml)
  adopt <mac> --host NAME [--install-mode once|always] [--force]
                      give a discovered machine its install entry (→ registered)
  edit <mac> [--host NAME] [--install-mode once|always] [--force]
                      change a machine's install entry or install mode (its state stays)
  list [--state S] [--search TEXT]
                      list machines (search: MAC, install entry, IP)
  show <mac> [--boots N] [--events N]
                      one machine, its stage and the hint for it, and its last N boots as sentences (default 2);
                      with --json, the last N events (default 20)
  rm <mac>            delete a machine with its events and tokens
  reinstall <mac>     re-arm a machine: back to "registered", live boot tokens revoked

An entry whose configuration names other MACs is refused with the reason: its installed system matches its network
config to the NICs it names, so this machine would be unreachable after its install. --force registers it anyway.
MACs may be written aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or aabbccddeeff.
States: ${MACHINE_STATES.join(', ')}.

Where:
  --server URL         a running daemon's HTTP API (also PXED_SERVER); the admin token in PXED_TOKEN
  --db FILE            local registry database (default: the daemon config's registry.database, else ./var/pxed.db)
  --config F           daemon config to take the database and provisioning paths from
                       (default: configs/pxed.yaml, else /etc/pxed/pxed.yaml, when it exists)
  --defaults F --vm-specs F --install-config F
                       provisioning inputs for checking --host locally (default: the daemon config's)

Options:
  --json               print data as JSON on stdout
  --help               show this help

Exit status: 0 ok; 1 failure (no such machine, already registered, refused, daemon unreachable, bad token);
2 usage or config error (bad MAC, unknown install entry, invalid configuration).
`;

/** Provisioning inputs, for checking install entries locally. */
export const PROVISIONING_OPTIONS = {
  defaults: { type: 'string' },
  'vm-specs': { type: 'string' },
  'install-config': { type: 'string' },
} as const satisfies OptionSpec;
const ENTRY = { host: { type: 'string' }, 'install-mode': { type: 'string' }, force: { type: 'boolean', default: false } } as const satisfies OptionSpec;

function macArg(positionals: string[], sub: string): string {
  const [raw, extra] = positionals;
  if (raw === undefined) throw usageError(`missing <mac>; usage: pxed machines ${sub} <mac>`);
  if (extra !== undefined) throw usageError(`unexpected argument "${extra}"`);
  const mac = parseMac(raw);
  if (mac === null) throw usageError(`"${raw}" is not a MAC address (expected aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff)`);
  return mac;
}

function modeArg(mode: string | undefined): InstallMode | undefined {
  if (mode !== undefined && mode !== 'once' && mode !== 'always') throw usageError(`--install-mode must be once or always, not "${mode}"`);
  return mode;
}

function json(io: CliIO, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}

type Sub = (argv: string[], io: CliIO) => Promise<number>;

/** Parses `options` + the client's, opens the client, runs `fn`, closes the client. */
function sub<O extends OptionSpec>(options: O, fn: (c: MachineClient, values: Record<string, unknown>, positionals: string[], io: CliIO) => Promise<void>): Sub {
  return async (argv, io) => {
    const { values, positionals } = parseCommandArgs(argv, { ...CLIENT_OPTIONS, ...PROVISIONING_OPTIONS, ...options });
    const v = values as Record<string, string | boolean | undefined>;
    const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
    const client = openClient(io, {
      server: str('server'),
      db: str('db'),
      config: str('config'),
      defaults: str('defaults'),
      vmSpecs: str('vm-specs'),
      installConfig: str('install-config'),
    });
    try {
      await fn(client, values as Record<string, unknown>, positionals, io);
    } finally {
      client.close();
    }
    return EXIT_OK;
  };
}

function entryInput(values: Record<string, unknown>, positionals: string[], name: string, hostRequired: boolean) {
  const mac = macArg(positionals, name);
  const host = values.host as string | undefined;
  if (hostRequired && (host === undefined || host === '')) throw usageError('missing --host <install-entry>');
  const installMode = modeArg(values['install-mode'] as string | undefined);
  return { mac, host, installMode, force: values.force === true };
}

const add = sub(ENTRY, async (c, values, positionals, io) => {
  const input = entryInput(values, positionals, 'add', true);
  const m = await c.add({ ...input, host: input.host! });
  if (values.json) json(io, m);
  else io.stdout(`registered ${m.mac} as ${m.host} (install mode ${m.installMode}) in ${c.where}\n`);
});

const adopt = sub(ENTRY, async (c, values, positionals, io) => {
  const input = entryInput(values, positionals, 'adopt', true);
  const m = await c.adopt({ ...input, host: input.host! });
  if (values.json) json(io, m);
  else io.stdout(`adopted ${m.mac} as ${m.host} (install mode ${m.installMode}): registered; it installs on its next network boot\n`);
});

const edit = sub(ENTRY, async (c, values, positionals, io) => {
  const input = entryInput(values, positionals, 'edit', false);
  if (input.host === undefined && input.installMode === undefined) throw usageError('nothing to change: give --host and/or --install-mode');
  const m = await c.edit(input.mac, input);
  if (values.json) json(io, m);
  else io.stdout(`updated ${m.mac}: install entry ${m.host ?? '-'}, install mode ${m.installMode} (state ${m.state})\n`);
});

const list = sub({ state: { type: 'string' }, search: { type: 'string' } }, async (c, values, positionals, io) => {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
  const state = values.state as string | undefined;
  if (state !== undefined && !isMachineState(state)) throw usageError(`unknown state "${state}"; expected one of ${MACHINE_STATES.join(', ')}`);
  const machines = await c.list({ ...(state !== undefined ? { state } : {}), ...(values.search !== undefined ? { q: values.search as string } : {}) });
  if (values.json) json(io, machines);
  else if (machines.length === 0) io.stdout(`no machines${state === undefined ? '' : ` in state ${state}`}\n`);
  else io.stdout(machineTable(machines));
});

function count(raw: unknown, flag: string, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw usageError(`${flag} must be a non-negative integer, not "${String(raw)}"`);
  return n;
}

const show = sub({ events: { type: 'string' }, boots: { type: 'string' } }, async (c, values, positionals, io) => {
  const mac = macArg(positionals, 'show');
  const nEvents = count(values.events, '--events', 20);
  const nBoots = count(values.boots, '--boots', 2);
  const machine = await c.get(mac);
  const events = await c.events(mac);
  if (values.json) {
    const view = stageView(events, machine.state);
    json(io, { machine, stage: view.stage, status: view.status, hint: view.hint, bar: view.bar, events: nEvents === 0 ? [] : events.slice(-nEvents), boots: view.boots.slice(-Math.max(nBoots, 1)) });
  } else io.stdout(showText(machine, events, nBoots));
});

const rm = sub({}, async (c, values, positionals, io) => {
  const mac = macArg(positionals, 'rm');
  await c.remove(mac);
  if (values.json) json(io, { mac, deleted: true });
  else io.stdout(`deleted ${mac}\n`);
});

const reinstall = sub({}, async (c, values, positionals, io) => {
  const mac = macArg(positionals, 'reinstall');
  const m = await c.reinstall(mac);
  if (values.json) json(io, m);
  else io.stdout(`re-armed ${mac} (${m.host ?? '-'}): registered; it installs on its next network boot\n`);
});

const SUBCOMMANDS = new Map<string, Sub>([
  ['add', add],
  ['adopt', adopt],
  ['edit', edit],
  ['list', list],
  ['show', show],
  ['rm', rm],
  ['reinstall', reinstall],
]);

export const machinesCommand: Command = {
  name: 'machines',
  summary: 'manage machines, locally or on a running daemon (add, adopt, edit, list, show, rm, reinstall)',
  help: HELP,
  async run(argv, io) {
    const [name, ...rest] = argv;
    const fn = name === undefined ? undefined : SUBCOMMANDS.get(name);
    if (fn === undefined) {
      const expected = [...SUBCOMMANDS.keys()].join(', ');
      throw usageError(name === undefined ? `missing subcommand; expected one of ${expected}` : `unknown subcommand "${name}"; expected one of ${expected}`);
    }
    return fn(rest, io);
  },
};
