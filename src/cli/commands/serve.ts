// `pxed serve`: builds the daemon from the config, starts it, reloads it on SIGHUP, and on SIGTERM/SIGINT lets
// running transfers finish (server.drain_seconds) and stops it in reverse order within a deadline. The only signal
// handler in pxed lives here.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { reloadFromFiles } from '../../appliance/reload.js';
import { systemdNotifier } from '../../appliance/sd-notify.js';
import { buildApp } from '../../app.js';
import { loadDaemonConfig, loadProvisioning, type DaemonOverrides } from '../../config/load.js';
import { describeError } from '../../errors.js';
import { createLogger, levelFromEnv, type LogLevel } from '../../log.js';
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';

const STOP_DEADLINE_MS = 10_000;

const options = {
  config: { type: 'string', short: 'c' },
  interface: { type: 'string', short: 'i' },
  address: { type: 'string' },
  'http-port': { type: 'string' },
  'tftp-root': { type: 'string', multiple: true },
  db: { type: 'string' },
  defaults: { type: 'string' },
  'vm-specs': { type: 'string' },
  'install-config': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

const help = `Usage: pxed serve [--config FILE] [overrides]

Runs the daemon: registry, HTTP, TFTP, proxy-DHCP (or full DHCP), install watchdog.
Logs are JSON lines on stderr (human-readable on a terminal); PXED_LOG_LEVEL sets the level unless --log-level does.
SIGHUP re-reads the config and the provisioning files (an invalid config is refused and the old one keeps serving).
SIGTERM/SIGINT stop accepting, give running TFTP transfers and HTTP downloads server.drain_seconds to finish, then
stop in reverse start order within ${STOP_DEADLINE_MS / 1000} s.

Options:
  -c, --config FILE         daemon config (default: ./configs/pxed.yaml if present, else /etc/pxed/pxed.yaml)
  -i, --interface IF        provisioning interface (server.interface)
      --address IP          our address on it (server.address)
      --http-port N         HTTP port (http.port)
      --tftp-root DIR       TFTP root, repeatable; replaces tftp.roots
      --db FILE             SQLite registry (registry.database)
      --defaults FILE       provisioning defaults (provisioning.defaults)
      --vm-specs FILE       VM specs (provisioning.vm_specs)
      --install-config FILE install entries (provisioning.install_config); "-" reads standard input
      --log-level LEVEL     debug | info | warn | error (log.level)

Exit status: 0 after a clean stop, 1 on a fatal error, 2 on a usage or configuration error.
`;

function defaultConfig(cwd: string): string {
  const local = path.join(cwd, 'configs', 'pxed.yaml');
  return existsSync(local) ? local : '/etc/pxed/pxed.yaml';
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options);
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
  const overrides: DaemonOverrides = { cwd: io.cwd };
  if (values.interface !== undefined) overrides.interface = values.interface;
  if (values.address !== undefined) overrides.address = values.address;
  if (values['http-port'] !== undefined) {
    const n = Number(values['http-port']);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw usageError(`--http-port: expected a port number, got "${values['http-port']}"`);
    overrides.http_port = n;
  }
  if (values['tftp-root'] !== undefined) overrides.tftp_roots = values['tftp-root'];
  if (values.db !== undefined) overrides.database = values.db;
  if (values.defaults !== undefined) overrides.defaults = values.defaults;
  if (values['vm-specs'] !== undefined) overrides.vm_specs = values['vm-specs'];
  if (values['install-config'] !== undefined) overrides.install_config = values['install-config'];
  const level = values['log-level'];
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) {
    throw usageError(`--log-level: expected debug, info, warn or error, got "${level}"`);
  }

  const configFile = path.resolve(io.cwd, values.config ?? defaultConfig(io.cwd));
  const config = loadDaemonConfig(configFile, overrides);
  const provisioning = await loadProvisioning(
    { defaults: config.provisioning.defaults, vmSpecs: config.provisioning.vm_specs, installConfig: config.provisioning.install_config },
    { readStdin: io.readStdin },
  );
  // Human-readable lines when a person watches the terminal; JSON for journald and pipes.
  const pretty = io.env.PXED_LOG_FORMAT === 'pretty' || (io.env.PXED_LOG_FORMAT !== 'json' && process.stderr.isTTY === true);
  const log = createLogger({ level: (level as LogLevel | undefined) ?? levelFromEnv(io.env) ?? config.log.level, write: io.stderr, pretty });
  log.info('starting pxed', { config: configFile, hosts: provisioning.hosts.length, pid: process.pid });

  let fatal: Error | null = null;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const onSignal = (sig: NodeJS.Signals): void => {
    log.info('signal received, stopping', { signal: sig });
    wake();
  };
  const notifier = systemdNotifier(io.env);
  // Reloads run one at a time; a SIGHUP during one runs another after it (the files may have changed again).
  let reloadApp: (() => Promise<void>) | null = null;
  let reloading: Promise<void> = Promise.resolve();
  const onHup = (): void => {
    if (reloadApp === null) {
      log.warn('SIGHUP before pxed is ready: ignored');
      return;
    }
    const run = reloadApp;
    reloading = reloading.then(run, run);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHup);
  try {
    const app = await buildApp({
      config,
      provisioning,
      logger: log,
      env: io.env,
      onFatal: (err) => {
        fatal ??= err;
        wake();
      },
    });
    try {
      await app.start();
    } catch (err) {
      log.error('pxed failed to start', { err: describeError(err) });
      return EXIT_FAILURE;
    }
    const listen = config.http.listen ?? app.serverAddress;
    const host = listen === '0.0.0.0' || listen === '::' ? app.serverAddress : listen;
    log.info('pxed ready', {
      address: app.serverAddress,
      http: `${listen}:${app.http.port}`,
      admin: `http://${host.includes(':') ? `[${host}]` : host}:${app.http.port}/`,
    });
    reloadApp = async () => {
      log.info('SIGHUP: reloading the configuration', { config: configFile });
      notifier.reloading();
      await reloadFromFiles(app, { configFile, overrides }, log);
      notifier.ready();
    };
    notifier.ready();
    const stopWatchdog = notifier.startWatchdog();
    await stopRequested;
    reloadApp = null;
    await reloading;
    stopWatchdog();
    notifier.stopping();
    // One deadline for the whole shutdown; a stop that hangs past it must not keep the unit from stopping.
    // A fatal socket error skips the drain: the daemon is already broken.
    const drainMs = fatal === null ? app.snapshot().config.server.drain_seconds * 1000 : 0;
    const hard = setTimeout(() => {
      log.error('shutdown deadline passed; exiting', { deadlineMs: drainMs + STOP_DEADLINE_MS });
      process.exit(EXIT_FAILURE);
    }, drainMs + STOP_DEADLINE_MS + 1000);
    hard.unref();
    if (drainMs > 0) log.info('stopping: no new requests; running transfers and downloads may finish', { drainMs });
    const clean = await app.stop(STOP_DEADLINE_MS, drainMs);
    clearTimeout(hard);
    log.info('pxed stopped', { clean });
    if (fatal !== null) return EXIT_FAILURE;
    return clean ? EXIT_OK : EXIT_FAILURE;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHup);
  }
}

export const serveCommand: Command = { name: 'serve', summary: 'run the daemon (proxy-DHCP, TFTP, HTTP, registry)', help, run };
