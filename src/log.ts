// Structured logs through pino: one JSON object per line on stderr (journald keeps them as-is), ISO time and a
// string level. Each subsystem takes a child logger; packet logs carry {mac, xid, client}. Fastify logs through the
// same pino instance (`Logger.pino`, passed as its loggerInstance), so HTTP lines carry the request id.
// On a terminal the lines are rendered as short human-readable text instead (no extra dependency); for journald
// output, `journalctl -u pxed -o cat | npx pino-pretty` does the same.

import { pino, stdSerializers, stdTimeFunctions, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
  /** True when a call at this level would be written; lets hot paths skip building fields. */
  enabled(level: LogLevel): boolean;
  /** The pino instance behind this logger (for fastify's loggerInstance). */
  readonly pino: PinoLogger;
}

export interface LoggerOptions {
  level?: LogLevel | 'silent';
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
  /** Render lines as human-readable text (default: when writing to process.stderr and it is a terminal). */
  pretty?: boolean;
}

/** The level from PXED_LOG_LEVEL when it names one, else undefined (callers fall back to the config). */
export function levelFromEnv(env: NodeJS.ProcessEnv): LogLevel | undefined {
  const v = env.PXED_LOG_LEVEL?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(v ?? '') ? (v as LogLevel) : undefined;
}

const LEVEL_TAG: Record<string, string> = { debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR', fatal: 'FATAL', trace: 'TRACE' };

/** One JSON line as `HH:MM:SS.mmm LEVEL [subsystem] msg key=value ...` for a terminal. */
export function prettyLine(line: string): string {
  let rec: LogFields;
  try {
    rec = JSON.parse(line) as LogFields;
  } catch {
    return line;
  }
  const { time, level, msg, svc, subsystem, pid: _pid, hostname: _host, ...rest } = rec;
  const t = typeof time === 'string' ? time.slice(11, 23) : '';
  const sub = svc ?? subsystem;
  const kv = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  const tag = LEVEL_TAG[String(level)] ?? String(level);
  return `${t} ${tag} ${sub !== undefined ? `[${String(sub)}] ` : ''}${String(msg ?? '')}${kv ? '  ' + kv : ''}\n`;
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (m, f) => (f === undefined ? p.debug(m) : p.debug(f, m)),
    info: (m, f) => (f === undefined ? p.info(m) : p.info(f, m)),
    warn: (m, f) => (f === undefined ? p.warn(m) : p.warn(f, m)),
    error: (m, f) => (f === undefined ? p.error(m) : p.error(f, m)),
    child: (b) => wrap(p.child(b)),
    enabled: (level) => p.isLevelEnabled(level),
    pino: p,
  };
}

/** Serialises Error values under any key as {message, code} (pino's own `err` serializer keeps the stack). */
function errorFields(obj: LogFields): LogFields {
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Error) {
      obj = { ...obj, [k]: { message: v.message, code: (v as { code?: unknown }).code } };
    }
  }
  return obj;
}

export function createLogger(opts: LoggerOptions = {}, bindings: LogFields = {}): Logger {
  const toStderr = opts.write === undefined;
  const pretty = opts.pretty ?? (toStderr && process.stderr.isTTY === true);
  const raw = opts.write ?? ((line: string) => void process.stderr.write(line));
  const write = pretty ? (line: string) => raw(prettyLine(line)) : raw;
  const p = pino(
    {
      level: opts.level ?? 'info',
      base: null,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: errorFields },
      serializers: { err: (e: unknown) => (e instanceof Error ? stdSerializers.err(e) : e) },
    },
    { write },
  );
  return wrap(Object.keys(bindings).length > 0 ? p.child(bindings) : p);
}

/** A logger that drops everything; for tests that do not assert on logs. */
export const silentLogger: Logger = createLogger({ level: 'silent', write: () => undefined });

/**
 * Wraps a logger so that at most `perInterval` warn lines per key pass each interval; the next line after a
 * suppressed burst says how many were dropped. Malformed-packet floods must not flood the journal.
 */
export function rateLimited(log: Logger, perInterval = 10, intervalMs = 10_000): (key: string, msg: string, fields?: LogFields) => void {
  const seen = new Map<string, { start: number; count: number; dropped: number }>();
  return (key, msg, fields) => {
    const now = Date.now();
    let s = seen.get(key);
    if (!s || now - s.start >= intervalMs) {
      if (s && s.dropped > 0) log.warn('log lines suppressed', { key, dropped: s.dropped });
      s = { start: now, count: 0, dropped: 0 };
      seen.set(key, s);
      if (seen.size > 1000) seen.clear();
    }
    if (s.count < perInterval) {
      s.count++;
      log.warn(msg, fields);
    } else {
      s.dropped++;
    }
  };
}
