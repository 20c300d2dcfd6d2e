// Runs one ansible-playbook (argv, no shell) with Ansible's `json` stdout callback and reads the per-host stats
// from its single JSON document. The child gets a curated environment (no daemon secrets) whose HOME,
// ANSIBLE_HOME and ANSIBLE_LOCAL_TEMP point into pxed's state dir (the systemd unit has ProtectHome=), runs in its
// own process group, and the whole group is killed when the caller's AbortSignal fires.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export interface HostStats {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export interface TaskFailure {
  host: string;
  task: string;
  msg: string;
}

export interface PlaybookResult {
  /** ansible-playbook's exit code; null when it was killed by a signal. */
  exitCode: number | null;
  /** Per host, as the json callback reports them; empty when Ansible died before printing its result. */
  stats: Record<string, HostStats>;
  failures: TaskFailure[];
  /** True when the caller's signal stopped the run. */
  aborted: boolean;
  durationMs: number;
  logPath: string;
  /** Last lines of stderr, for error reports. */
  stderrTail: string[];
}

export interface PlaybookRun {
  playbook: string;
  inventory: string;
  varsFile: string;
  /** build/<host>/logs/post.log: stderr as it comes, then the JSON result. Appended to. */
  logPath: string;
  /** Writable dir for HOME, ANSIBLE_HOME and ANSIBLE_LOCAL_TEMP. */
  stateDir: string;
  rolesPath: string;
  signal?: AbortSignal;
  /** Default 'ansible-playbook' from PATH. */
  command?: string;
  /** Grace before SIGKILL after SIGTERM on abort. */
  killGraceMs?: number;
  /** Environment to take PATH (and SSH_AUTH_SOCK) from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

const ZERO: HostStats = { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Stats and failed tasks out of the json callback's document ({plays:[{tasks:[{task,hosts}]}], stats}). */
export function parseJsonCallback(text: string): { stats: Record<string, HostStats>; failures: TaskFailure[] } | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text.slice(Math.max(0, text.indexOf('{'))));
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as { stats?: Record<string, Record<string, unknown>>; plays?: unknown };
  const stats: Record<string, HostStats> = {};
  for (const [host, s] of Object.entries(d.stats ?? {})) {
    stats[host] = {
      ...ZERO,
      ok: num(s.ok),
      changed: num(s.changed),
      unreachable: num(s.unreachable),
      failed: num(s.failures),
      skipped: num(s.skipped),
      rescued: num(s.rescued),
      ignored: num(s.ignored),
    };
  }
  const failures: TaskFailure[] = [];
  const plays = Array.isArray(d.plays) ? (d.plays as Array<{ tasks?: unknown }>) : [];
  for (const play of plays) {
    for (const t of Array.isArray(play.tasks) ? (play.tasks as Array<{ task?: { name?: string }; hosts?: Record<string, Record<string, unknown>> }>) : []) {
      for (const [host, r] of Object.entries(t.hosts ?? {})) {
        if (r.failed === true || r.unreachable === true) {
          if (r.ignore_errors === true) continue;
          const msg = typeof r.msg === 'string' ? r.msg : typeof r.stderr === 'string' ? r.stderr : 'failed';
          failures.push({ host, task: t.task?.name ?? '?', msg: msg.slice(0, 500) });
        }
      }
    }
  }
  return { stats, failures };
}

function ansibleEnv(run: PlaybookRun): Record<string, string> {
  const src = run.env ?? process.env;
  const home = path.join(run.stateDir, 'home');
  const ahome = path.join(run.stateDir, 'ansible');
  const tmp = path.join(run.stateDir, 'tmp');
  for (const d of [home, ahome, tmp]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const env: Record<string, string> = {
    PATH: src.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    HOME: home,
    ANSIBLE_HOME: ahome,
    ANSIBLE_LOCAL_TEMP: tmp,
    ANSIBLE_STDOUT_CALLBACK: 'json',
    ANSIBLE_ROLES_PATH: run.rolesPath,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_PIPELINING: '1',
  };
  if (src.SSH_AUTH_SOCK !== undefined) env.SSH_AUTH_SOCK = src.SSH_AUTH_SOCK;
  return env;
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

/** Runs the playbook to completion (or abort). Never throws for a failing play; spawn errors do throw. */
export async function runPlaybook(run: PlaybookRun): Promise<PlaybookResult> {
  const t0 = Date.now();
  mkdirSync(path.dirname(run.logPath), { recursive: true, mode: 0o700 });
  const log: WriteStream = createWriteStream(run.logPath, { flags: 'a', mode: 0o600 });
  const argv = ['-i', run.inventory, '-e', `@${run.varsFile}`, run.playbook];
  const command = run.command ?? 'ansible-playbook';
  log.write(`# ${new Date().toISOString()} ${command} ${argv.join(' ')}\n`);
  const stderrLines: string[] = [];
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const child = execa(command, argv, {
    env: ansibleEnv(run),
    extendEnv: false,
    cwd: run.stateDir,
    detached: true,
    stdin: 'ignore',
    reject: false,
    maxBuffer: 256 * 1024 * 1024,
    stripFinalNewline: false,
  });
  const onAbort = (): void => {
    aborted = true;
    killGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), run.killGraceMs ?? 5000);
  };
  if (run.signal?.aborted) onAbort();
  else run.signal?.addEventListener('abort', onAbort, { once: true });
  child.stderr?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') stderrLines.push(l);
    if (stderrLines.length > 50) stderrLines.splice(0, stderrLines.length - 50);
  });
  try {
    const res = await child;
    if (res.failed && res.exitCode === undefined && res.signal === undefined) throw new Error(res.message);
    const stdout = typeof res.stdout === 'string' ? res.stdout : '';
    log.write(`# json result (exit ${String(res.exitCode ?? res.signal)})\n${stdout}\n`);
    const parsed = parseJsonCallback(stdout);
    return {
      exitCode: res.exitCode ?? null,
      stats: parsed?.stats ?? {},
      failures: parsed?.failures ?? [],
      aborted,
      durationMs: Date.now() - t0,
      logPath: run.logPath,
      stderrTail: stderrLines.slice(-10),
    };
  } finally {
    clearTimeout(killTimer);
    run.signal?.removeEventListener('abort', onAbort);
    await new Promise<void>((resolve) => log.end(resolve));
  }
}
