// The `pxed` command line: dispatches to one module per command. Only `serve` traps signals.

import { escapeField, escapeText } from './escape.js';
import { readFileSync } from 'node:fs';
import { describeError, isPxedError } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIO, type Command } from './io.js';
import { commands } from './commands/index.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'pxed: PXE/boot appliance (proxy-DHCP, TFTP, HTTP, machine registry, provisioning)',
    '',
    'Usage: pxed <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  --help      show help (also after any command)',
    '  --version   print the version',
    '',
    'Exit status: 0 ok, 1 failure, 2 usage or configuration error.',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout(topHelp());
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    io.stdout(`pxed ${version()}\n`);
    return EXIT_OK;
  }
  const cmd: Command | undefined = commands.find((c) => c.name === first);
  if (!cmd) {
    io.stderr(`pxed: unknown command "${escapeField(first)}"; see "pxed --help"\n`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(cmd.help.endsWith('\n') ? cmd.help : cmd.help + '\n');
    return EXIT_OK;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (isPxedError(err, 'CLI_USAGE')) {
      io.stderr(`pxed ${cmd.name}: ${escapeText(err.message)}\n`);
      return EXIT_USAGE;
    }
    if (isPxedError(err) && err.code.startsWith('CONFIG_')) {
      io.stderr(`pxed ${cmd.name}: ${escapeText(err.message)}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`pxed ${cmd.name}: ${escapeText(describeError(err))}\n`);
    return EXIT_FAILURE;
  }
}
