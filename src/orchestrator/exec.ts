// Runs one child command for a stage: in its own process group (so cancelling kills it and everything it spawned),
// its output appended line by line, redacted, to the stage log; the last lines kept for the failure report.
// Cancellation: SIGTERM to the group (Terraform then releases its state lock), SIGKILL after `killGraceMs`.

import { createWriteStream, type WriteStream } from 'node:fs';
import { execa } from 'execa';

export interface ExecOptions {
  cwd: string;
  /** The complete environment of the child (nothing else is inherited). */
  env: Record<string, string | undefined>;
  /** Open append stream of build/<host>/logs/<stage>.log. */
  log: WriteStream;
  redact: (text: string) => string;
  signal: AbortSignal;
  killGraceMs?: number;
  /** Called with each output line (redacted). */
  onLine?: (line: string) => void;
}

export interface ExecResult {
  exitCode: number | null;
  cancelled: boolean;
  stdout: string;
  /** Last output lines (stdout and stderr interleaved), redacted. */
  tail: string[];
}

const TAIL = 15;

export function openLog(file: string): WriteStream {
  return createWriteStream(file, { flags: 'a', mode: 0o600 });
}

export async function runLogged(cmd: string, args: readonly string[], o: ExecOptions): Promise<ExecResult> {
  const shown = o.redact([cmd, ...args].join(' '));
  o.log.write(`$ ${shown}  (cwd ${o.cwd})\n`);
  if (o.signal.aborted) return { exitCode: null, cancelled: true, stdout: '', tail: [] };
  const child = execa(cmd, args, {
    cwd: o.cwd,
    env: o.env,
    extendEnv: false,
    detached: true,
    reject: false,
    stdin: 'ignore',
    buffer: { stdout: true, stderr: false },
    stripFinalNewline: false,
  });
  const tail: string[] = [];
  const onChunk = (chunk: Buffer | string) => {
    const text = o.redact(chunk.toString());
    o.log.write(text);
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
      o.onLine?.(line);
    }
  };
  child.stdout?.on('data', onChunk);
  child.stderr?.on('data', onChunk);
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = (sig: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const onAbort = () => {
    killGroup('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), o.killGraceMs ?? 5000);
    killTimer.unref();
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await child;
    const cancelled = o.signal.aborted;
    // Whatever the command left behind in its group goes with it.
    if (cancelled) killGroup('SIGKILL');
    const code = typeof r.exitCode === 'number' ? r.exitCode : null;
    o.log.write(`# exit ${code ?? r.signal ?? 'unknown'}${cancelled ? ' (cancelled)' : ''}\n`);
    return { exitCode: code, cancelled, stdout: typeof r.stdout === 'string' ? o.redact(r.stdout) : '', tail };
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
}
