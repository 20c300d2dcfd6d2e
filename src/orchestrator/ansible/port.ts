// The `post` stage of `pxed provision`: the orchestrator's PostInstallRunner port (src/orchestrator/types.ts)
// implemented on runPostInstall; the orchestrator passes an instance wherever it expects a PostInstallRunner.
import type { PostInstallRequest } from '../types.js';
import { sshConnection } from './wiring.js';
import { runPostInstall, type PostInstallOptions } from './stage.js';
import type { HostStats } from './runner.js';

/** The orchestrator's request (src/orchestrator/types.ts), under the name this module has used. */
export type PostInstallPortRequest = PostInstallRequest;

export interface PostInstallPortResult {
  ok: boolean;
  stats: HostStats | null;
  exitCode: number | null;
  /** "ok=12 changed=3 unreachable=0 failed=0 skipped=2", or the failing task / reason. */
  message: string;
}

export function statsLine(s: HostStats): string {
  return `ok=${s.ok} changed=${s.changed} unreachable=${s.unreachable} failed=${s.failed} skipped=${s.skipped}`;
}

export class AnsiblePostInstallRunner {
  constructor(private readonly opts: Omit<PostInstallOptions, 'env'>) {}

  async run(req: PostInstallPortRequest): Promise<PostInstallPortResult> {
    const conn = sshConnection(req.host, { ip: req.ip }, req.prov);
    if (conn === null) return { ok: false, stats: null, exitCode: null, message: `host ${req.host.name}: no address to reach it` };
    req.progress?.(req.host.install.os === 'nixos' ? 'nixos-rebuild switch' : 'ansible-playbook');
    const env: NodeJS.ProcessEnv = { ...req.env };
    const out = await runPostInstall(req.host, conn, { dir: req.dir, logFile: req.logFile }, { ...this.opts, env }, req.signal);
    const message = out.ok ? (out.stats !== null ? statsLine(out.stats) : `${out.method} ok`) : (out.error ?? 'failed');
    return { ok: out.ok, stats: out.stats, exitCode: out.exitCode, message };
  }
}
