// What a CLI command gets: its arguments and where to write. Commands return their exit status:
// 0 ok, 1 runtime failure, 2 usage or config error. They never print stack traces.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PxedError } from '../errors.js';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads all of standard input (for `-` file arguments). */
  readStdin: () => Promise<string>;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Standard error is a terminal (progress is redrawn in place); absent = not a terminal. */
  stderrIsTTY?: boolean;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface Command {
  name: string;
  summary: string;
  /** Full help text, printed for --help. */
  help: string;
  run(argv: string[], io: CliIO): Promise<number>;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with strict checking; unknown flags and missing values become CLI_USAGE errors
 * (exit 2) with a message that names the flag.
 */
export function parseCommandArgs<O extends OptionSpec>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (err) {
    throw new PxedError('CLI_USAGE', (err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

export function usageError(message: string): PxedError {
  return new PxedError('CLI_USAGE', message);
}

export function processIO(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    cwd: process.cwd(),
    stderrIsTTY: process.stderr.isTTY === true,
  };
}
