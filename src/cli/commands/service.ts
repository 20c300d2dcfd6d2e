// `pxed service install|uninstall`: makes pxed a systemd service (src/appliance/install.ts writes the files);
// without --root it also runs systemctl (daemon-reload, enable --now / disable --now).

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNIT_NAME, installService, uninstallService, type ServiceLayout, type Step } from '../../appliance/install.js';
import { PxedError } from '../../errors.js';
import { EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';

const options = {
  prefix: { type: 'string' },
  'config-dir': { type: 'string' },
  'state-dir': { type: 'string' },
  'unit-dir': { type: 'string' },
  root: { type: 'string' },
  purge: { type: 'boolean' },
} as const;

const help = `Usage: pxed service install [options]
       pxed service uninstall [options] [--purge]

install: writes ${UNIT_NAME} (hardened, DynamicUser, state in --state-dir), a config in --config-dir from the
examples (an existing file is never overwritten), puts pxed on PATH (<prefix>/bin/pxed), then runs
systemctl daemon-reload and enable --now. Running it again changes nothing that is already right.
uninstall: disable --now, removes the unit and the symlink; keeps config and state unless --purge.

Options:
  --prefix DIR       pxed goes to DIR/bin (default /usr/local)
  --config-dir DIR   daemon config directory (default /etc/pxed)
  --state-dir DIR    registry, admin token, assets; under /var/lib (default /var/lib/pxed)
  --unit-dir DIR     where the unit goes (default /etc/systemd/system)
  --root DIR         write everything under DIR and do not run systemctl (packaging, tests)
  --purge            uninstall: also remove config and state

Exit status: 0 ok, 1 failure, 2 usage error.
`;

/** The package root: dist/src/cli/commands -> four levels up. */
function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
}

function printSteps(io: CliIO, steps: Step[]): void {
  for (const s of steps) io.stdout(`${s.action.padEnd(9)} ${s.path}${s.note !== undefined ? `  (${s.note})` : ''}\n`);
}

function systemctl(io: CliIO, args: string[]): void {
  io.stdout(`systemctl ${args.join(' ')}\n`);
  try {
    execFileSync('systemctl', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    throw new PxedError('SERVICE_SYSTEMCTL', `systemctl ${args.join(' ')} failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options);
  const [verb, ...extra] = positionals;
  if (verb !== 'install' && verb !== 'uninstall') throw usageError('expected "install" or "uninstall"');
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`);
  if (values.purge === true && verb === 'install') throw usageError('--purge goes with uninstall');
  const abs = (p: string | undefined, dflt: string): string => (p === undefined ? dflt : path.resolve(io.cwd, p));
  const layout: ServiceLayout = {
    root: abs(values.root, '/'),
    prefix: abs(values.prefix, '/usr/local'),
    configDir: abs(values['config-dir'], '/etc/pxed'),
    stateDir: abs(values['state-dir'], '/var/lib/pxed'),
    unitDir: abs(values['unit-dir'], '/etc/systemd/system'),
    packageRoot: packageRoot(),
    node: process.execPath,
  };
  const drive = values.root === undefined;
  if (verb === 'install') {
    printSteps(io, installService(layout));
    if (drive) {
      systemctl(io, ['daemon-reload']);
      systemctl(io, ['enable', '--now', UNIT_NAME]);
      io.stdout(`pxed is running: journalctl -u pxed -f; the admin page's address is in the "pxed ready" line\n`);
    } else {
      io.stdout(`--root given: systemctl not run; on the target: systemctl daemon-reload && systemctl enable --now ${UNIT_NAME}\n`);
    }
    return EXIT_OK;
  }
  if (drive) {
    try {
      systemctl(io, ['disable', '--now', UNIT_NAME]);
    } catch (err) {
      io.stderr(`pxed service: ${(err as Error).message} (continuing)\n`);
    }
  }
  printSteps(io, uninstallService(layout, values.purge === true));
  if (drive) systemctl(io, ['daemon-reload']);
  return EXIT_OK;
}

export const serviceCommand: Command = { name: 'service', summary: 'install or uninstall pxed as a systemd service', help, run };
