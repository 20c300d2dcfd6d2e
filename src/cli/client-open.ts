// Picks the machine client for a command: `--server URL` (or PXED_SERVER) talks to a running daemon with the token
// in PXED_TOKEN; otherwise the local registry file (--db, --config, configs/pxed.yaml, /etc/pxed/pxed.yaml,
// ./var/pxed.db).

import type { MachineClient } from './client.js';
import { HttpMachineClient } from './client.js';
import { LocalMachineClient, Locations, type LocalPaths } from './client-local.js';
import { usageError, type CliIO, type OptionSpec } from './io.js';

/** The options every client command takes. */
export const CLIENT_OPTIONS = {
  server: { type: 'string' },
  db: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies OptionSpec;

export interface ClientValues extends LocalPaths {
  server?: string | undefined;
}

export function openClient(io: CliIO, values: ClientValues): MachineClient {
  const server = values.server ?? io.env.PXED_SERVER;
  if (server !== undefined && server !== '') {
    if (values.db !== undefined) throw usageError('--db and --server exclude each other');
    const token = io.env.PXED_TOKEN;
    if (token === undefined || token.trim() === '') throw usageError('--server needs the admin token in PXED_TOKEN');
    return new HttpMachineClient(server, token.trim());
  }
  return new LocalMachineClient(new Locations(io, values));
}
