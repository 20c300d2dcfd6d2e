// Runs a TftpService in its own process, for tests and the benchmark that need it inside a network namespace.
// Usage: node serve-main.js '<TftpServiceOptions as JSON>'   (policy, log and onFatal are not passed; logs go to
// stderr as JSON lines at the level PXED_LOG_LEVEL names, none without it)
// Prints "ready <port>" once bound; a line "stats" on stdin prints stats() as JSON; SIGTERM stops it.

import readline from 'node:readline';
import { createLogger, levelFromEnv } from '../../src/log.js';
import { TftpService, type TftpServiceOptions } from '../../src/tftp/server.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as TftpServiceOptions;
const svc = new TftpService({ ...opts, log: createLogger({ level: levelFromEnv(process.env) ?? 'silent', pretty: false }) });
await svc.start();
process.stdout.write(`ready ${svc.port}\n`);
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') process.stdout.write(JSON.stringify(svc.stats()) + '\n');
});
const stop = (): void => {
  svc.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
