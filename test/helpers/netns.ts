// Network namespaces for tests. Everything a test creates lives inside namespaces it made itself, with private
// addresses that exist only there; the root namespace is never changed (README.md "Tests": network safety).
// Names carry the test process PID so concurrent runs never collide; teardown is idempotent.

import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: opts.input ?? '' });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

let counter = 0;
/** A short unique name (interface names are limited to 15 bytes). */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}${(process.pid % 100000).toString(36)}${counter.toString(36)}`.slice(0, 15);
}

export class Netns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();

  constructor(prefix = 'px') {
    this.name = uniqueName(prefix);
    sh('ip', ['netns', 'add', this.name]);
    this.ip('link', 'set', 'lo', 'up');
  }

  /** Runs `ip ARGS` inside the namespace. */
  ip(...args: string[]): string {
    return sh('ip', ['-n', this.name, ...args]);
  }

  /** Runs a command inside the namespace and returns its stdout (throws on failure). */
  exec(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
    return sh('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** Starts a long-running process inside the namespace in its own process group; killed by destroy(). */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', detached: true, ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Ends every process this namespace object started (by process group), then deletes the namespace. */
  async destroy(): Promise<void> {
    for (const child of this.children) await killGroup(child);
    this.children.clear();
    // Processes we did not start cannot hold this namespace: it was created by this test.
    sh('ip', ['netns', 'pids', this.name], { allowFail: true })
      .split('\n')
      .filter(Boolean)
      .forEach((pid) => {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      });
    sh('ip', ['netns', 'del', this.name], { allowFail: true });
  }
}

/** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves when it has exited. */
export async function killGroup(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        /* gone */
      }
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Connects two namespaces with a veth pair and assigns addresses (CIDR form).
 * TX checksum offload is turned off on both ends: QEMU guests and raw clients otherwise see partial checksums
 * on locally generated UDP (docs/protocol.md §11 item 1).
 */
export function vethPair(
  a: Netns,
  aIf: string,
  aCidr: string | null,
  b: Netns,
  bIf: string,
  bCidr: string | null,
): void {
  const tmpA = uniqueName('va');
  const tmpB = uniqueName('vb');
  // Created inside namespace a, so nothing ever appears in the root namespace.
  a.ip('link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB, 'netns', b.name);
  a.ip('link', 'set', tmpA, 'name', aIf);
  b.ip('link', 'set', tmpB, 'name', bIf);
  if (aCidr) a.ip('addr', 'add', aCidr, 'dev', aIf);
  if (bCidr) b.ip('addr', 'add', bCidr, 'dev', bIf);
  a.ip('link', 'set', aIf, 'up');
  b.ip('link', 'set', bIf, 'up');
  a.exec('ethtool', ['-K', aIf, 'tx', 'off'], { allowFail: true });
  b.exec('ethtool', ['-K', bIf, 'tx', 'off'], { allowFail: true });
}

/** Waits until `probe` returns true, polling every `intervalMs`; throws after `timeoutMs`. */
export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
