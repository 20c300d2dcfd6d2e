// The `post` stage of `pxed provision`: the orchestrator's PostInstallRunner port (src/orchestrator/types.ts)
// implemented on runPostInstall; the orchestrator passes an instance wherever it expects a PostInstallRunner.
import { recap } from '../report.js';
import type { PostInstallRequest } from '../types.js';
import type { Connection } from './inventory.js';
import path from 'node:path';
import { nixosConfigFor, sshConnection } from './wiring.js';
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

/** "ok=12 changed=3 unreachable=0 failed=0 skipped=2": the summary's recap line. */
export const statsLine = (s: HostStats): string => recap(s);

export interface PostInstallRunnerOptions extends Omit<PostInstallOptions, 'env'> {
  /** Configure this root file system over Ansible's chroot connection instead of ssh to the host (image builds). */
  chrootRoot?: string;
}

export class AnsiblePostInstallRunner {
  constructor(private readonly opts: PostInstallRunnerOptions) {}

  async run(req: PostInstallPortRequest): Promise<PostInstallPortResult> {
    const conn: Connection | null = this.opts.chrootRoot !== undefined ? { kind: 'chroot', root: this.opts.chrootRoot } : sshConnection(req.host, { ip: req.ip }, req.prov);
    if (conn === null) return { ok: false, stats: null, exitCode: null, message: `host ${req.host.name}: no address to reach it (neither recorded by pxed nor a static address_cidr)` };
    req.progress?.(req.host.install.os === 'nixos' ? 'nixos-rebuild switch' : 'ansible-playbook');
    const env: NodeJS.ProcessEnv = { ...req.env };
    // req.dir is build/<host>/ansible: the NixOS configuration goes beside it, build/<host>/nixos.
    const nixosConfig = req.mac !== undefined ? nixosConfigFor(path.dirname(path.dirname(req.dir)), this.opts.stateDir, req.mac, env) : undefined;
    const { chrootRoot: _chroot, ...opts } = this.opts;
    const out = await runPostInstall(req.host, conn, { dir: req.dir, logFile: req.logFile }, { ...opts, env, ...(nixosConfig ? { nixosConfig } : {}) }, req.signal);
    const message = out.ok ? (out.stats !== null ? statsLine(out.stats) : `${out.method} ok`) : (out.error ?? 'failed');
    return { ok: out.ok, stats: out.stats, exitCode: out.exitCode, message };
  }
}
