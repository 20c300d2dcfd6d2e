// `pxed events [--follow] [--mac M]`: the timeline as sentences (the admin page's), from the local registry or a
// running daemon (--server URL, token in PXED_TOKEN). --follow keeps printing new events until interrupted.
import type { BootEvent } from '../../model/events.js';
import { parseMac } from '../../net/mac.js';
import { eventLine } from '../client-format.js';
import { CLIENT_OPTIONS, openClient } from '../client-open.js';
import { EXIT_OK, parseCommandArgs, usageError, type Command } from '../io.js';

const HELP = `Usage: pxed events [--mac M] [--after ID] [--last N] [--follow] [--json] [--server URL | --db F | --config F]

Prints boot events as sentences, oldest first: every machine's, or one machine's with --mac.
  --last N       only the last N events (default 50; 0 = all)
  --after ID     only events after this event id
  --follow       then keep printing new events as they come (Ctrl-C ends)
  --json         one JSON event per line
  --server URL   a running daemon (also PXED_SERVER), token in PXED_TOKEN; otherwise the local registry
`;

export const eventsCommand: Command = {
  name: 'events',
  summary: 'print boot events as sentences, optionally following new ones',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...CLIENT_OPTIONS,
      mac: { type: 'string' },
      after: { type: 'string' },
      last: { type: 'string' },
      follow: { type: 'boolean', default: false },
    });
    if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
    let mac: string | undefined;
    if (values.mac !== undefined) {
      const parsed = parseMac(values.mac);
      if (parsed === null) throw usageError(`"${values.mac}" is not a MAC address`);
      mac = parsed;
    }
    const num = (raw: string | undefined, flag: string): number | undefined => {
      if (raw === undefined) return undefined;
      if (!/^\d{1,15}$/.test(raw)) throw usageError(`${flag} must be a non-negative integer, not "${raw}"`);
      return Number(raw);
    };
    const after = num(values.after, '--after');
    const last = num(values.last, '--last') ?? 50;
    const client = openClient(io, { server: values.server, db: values.db, config: values.config });
    const print = (e: BootEvent): void => io.stdout(values.json ? JSON.stringify(e) + '\n' : eventLine(e));
    try {
      const events = await client.events(mac, after);
      const shown = last === 0 ? events : events.slice(-last);
      shown.forEach(print);
      if (values.follow) {
        const ctl = new AbortController();
        const stop = (): void => ctl.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await client.follow(mac, events.at(-1)?.id ?? after, print, ctl.signal);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }
    } finally {
      client.close();
    }
    return EXIT_OK;
  },
};
