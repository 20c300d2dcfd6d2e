// Structured logs: one JSON object per line on stderr (journald keeps them as-is).
// Each subsystem takes a child logger; packet logs carry {mac, xid, client}.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
  /** True when a call at this level would be written; lets hot paths skip building fields. */
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}, bindings: LogFields = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (ORDER[level] < min) return;
    const rec: LogFields = { time: new Date().toISOString(), level, msg, ...bindings, ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = { message: v.message, code: (v as { code?: unknown }).code };
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      line = JSON.stringify({ time: rec.time, level, msg, unserialisable: true });
    }
    write(line + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger(opts, { ...bindings, ...b }),
    enabled: (level) => ORDER[level] >= min,
  };
}

/** A logger that drops everything; for tests that do not assert on logs. */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => undefined });

/**
 * Wraps a logger so that at most `perInterval` warn/error lines per key pass each interval.
 * Malformed-packet floods must not flood the journal.
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
