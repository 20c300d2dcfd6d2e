import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, levelFromEnv, prettyLine, rateLimited } from '../src/log.js';

const capture = (level: 'debug' | 'info' | 'warn' | 'error' = 'info'): { lines: string[]; log: ReturnType<typeof createLogger> } => {
  const lines: string[] = [];
  return { lines, log: createLogger({ level, write: (l) => lines.push(l) }) };
};

void describe('log (pino)', () => {
  void it('writes one JSON object per line with ISO time, string level, message, bindings and fields', () => {
    const { lines, log } = capture();
    log.child({ subsystem: 'dhcp' }).info('dhcp proxy offer', { mac: '52:54:00:00:00:01', xid: 7, client: '10.0.0.5:68' });
    log.debug('hidden');
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('\n'));
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(rec.level, 'info');
    assert.equal(rec.msg, 'dhcp proxy offer');
    assert.equal(rec.subsystem, 'dhcp');
    assert.equal(rec.mac, '52:54:00:00:00:01');
    assert.match(String(rec.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(rec.pid, undefined);
  });

  void it('reports enabled levels and turns Error values into {message, code}', () => {
    const { lines, log } = capture('warn');
    assert.equal(log.enabled('info'), false);
    assert.equal(log.enabled('error'), true);
    const e = Object.assign(new Error('boom'), { code: 'X_FAIL' });
    log.error('failed', { cause: e });
    assert.deepEqual((JSON.parse(lines[0]!) as { cause: unknown }).cause, { message: 'boom', code: 'X_FAIL' });
  });

  void it('rate-limits floods per key and says how many lines it dropped', () => {
    const { lines, log } = capture();
    const warn = rateLimited(log, 3, 50);
    for (let i = 0; i < 20; i++) warn('malformed', 'malformed DHCP packet', { i });
    assert.equal(lines.length, 3);
    const until = Date.now() + 60;
    while (Date.now() < until) {
      // wait out the interval (bounded)
    }
    warn('malformed', 'malformed DHCP packet', { i: 20 });
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual({ msg: recs[3]!.msg, dropped: recs[3]!.dropped }, { msg: 'log lines suppressed', dropped: 17 });
    assert.equal(recs[4]!.i, 20);
  });

  void it('takes PXED_LOG_LEVEL when it names a level', () => {
    assert.equal(levelFromEnv({ PXED_LOG_LEVEL: 'DEBUG' }), 'debug');
    assert.equal(levelFromEnv({ PXED_LOG_LEVEL: 'loud' }), undefined);
    assert.equal(levelFromEnv({}), undefined);
  });

  void it('renders lines for a terminal, and passes through what is not JSON', () => {
    const line = JSON.stringify({ time: '2026-12-03T02:00:00.123Z', level: 'warn', msg: 'slow', subsystem: 'tftp', path: 'a b', n: 2 });
    assert.equal(prettyLine(line), '02:00:00.123 WARN  [tftp] slow  path="a b" n=2\n');
    assert.equal(prettyLine('not json\n'), 'not json\n');
    const { lines } = { lines: [] as string[] };
    createLogger({ write: (l) => lines.push(l), pretty: true }).info('hello', { subsystem: 'http' });
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[http\] hello\n$/);
  });
});
