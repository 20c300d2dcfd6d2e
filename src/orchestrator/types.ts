// The orchestrator's shared vocabulary: stages, per-host results, and the ports the stages call (machines,
// post-install). A leaf module: it imports types only.

import type { HostSpec, Provisioning } from '../config/provisioning.js';
import type { PostInstallReport, PostInstallStats } from '../machines/operations.js';

/** The stages of `pxed provision`, in the order they run for one host. */
export const STAGES = ['infra', 'pxe', 'os', 'post'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * The post-install port the `post` stage calls (the Ansible stage in src/orchestrator/ansible/ implements it).
 * `run` never throws for an ordinary failure: it resolves with ok false and the stats it has.
 */
export interface PostInstallRunner {
  run(req: PostInstallRequest): Promise<PostInstallResult>;
}

export interface PostInstallRequest {
  host: HostSpec;
  prov: Readonly<Provisioning>;
  /**
   * Address to reach the installed host (ssh): the address the daemon recorded, else the static one; null when
   * neither is known (the runner fails saying so unless it needs no address, e.g. a chroot).
   */
  ip: string | null;
  /** The MAC the host installed with (a NixOS host's generated network configuration matches it). */
  mac?: string;
  /** build/<host>/ansible: inventory.yaml, vars.yaml and any scratch files go here. */
  dir: string;
  /** Full path of build/<host>/logs/post.log; the runner writes the command's output there. */
  logFile: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Kill the children (by process group) and resolve promptly when aborted. */
  signal: AbortSignal;
  progress?: (text: string) => void;
}

/** Ansible's per-host play recap: the one type, with the report the machine operations record. */
export type AnsibleStats = PostInstallStats;

export interface PostInstallResult {
  ok: boolean;
  /** Per-host play recap; null when ansible never reached the recap (e.g. syntax error, cancelled). */
  stats: AnsibleStats | null;
  exitCode: number | null;
  /** One line for the summary, e.g. "ok=12 changed=3" or the failing task. */
  message: string;
}

/**
 * The machine operations the `pxe` and `os` stages need: registering a host (MACs + install entry, arming its
 * one-shot install) and reading its state and timeline. Implemented locally on the registry and remotely on the
 * daemon's REST API (--server / PXED_TOKEN).
 */
export interface MachinePort {
  /** Registers (or re-arms) the host's MACs for install; idempotent. Returns the primary MAC. */
  register(host: HostSpec, macs: readonly string[]): Promise<string>;
  /** The machine's state and the last timeline event, or null when unknown. */
  status(mac: string): Promise<MachineStatus | null>;
  /**
   * Arms a registered machine's install boot for a seed (boot_method iso/image: no netboot fetches a script) and
   * returns pxed's URL and the boot's token for the seed's phone-home. The machine moves to `booting`, its
   * earlier tokens revoked, as when a netbooting machine fetches its iPXE script.
   */
  armSeed(mac: string): Promise<SeedArm>;
  /**
   * The post stage on the machine's timeline, as the daemon's own post-install records it: `post-install` started,
   * then ok/failed with the stats and log path, the machine moving installed → post-installing → configured/failed
   * (MachineOperations.recordPostInstall, locally or over the daemon's API). Throws when the machine is unknown or
   * the daemon refuses; the stage reports that and carries on.
   */
  recordPost(mac: string, report: PostInstallReport): Promise<void>;
  close?(): Promise<void>;
}

export interface SeedArm {
  /** http://<address>[:port] as the installer reaches pxed. */
  serverUrl: string;
  token: string;
}

export interface MachineStatus {
  state: string;
  ip: string | null;
  /** The most recent event's kind (e.g. "dhcp-ack", "artifact", "phone-home"), null when none yet. */
  lastEvent: string | null;
  /** What to check for the stage the boot stopped at (model/stage.ts, as the admin page and the CLI say it). */
  hint?: string | null;
}

export type HostResult = 'ok' | 'failed' | 'cancelled' | 'skipped';

/** One row of the summary (also the --json output). */
export interface HostSummaryRow {
  host: string;
  stagesDone: Stage[];
  result: HostResult;
  /** The stage that failed or was cancelled; null when ok. */
  failedStage: Stage | null;
  error: string | null;
  durationMs: number;
  /**
   * Where the host got to: planned (plan only), created (VM applied), registered/booting (armed with pxed), the
   * machine state the os stage saw last (installed, ...), configured (post ok); null before any stage finished.
   */
  state: string | null;
  /** Ansible's play recap for the host (post stage), also when it failed; null without one. */
  ansible: AnsibleStats | null;
  ip: string | null;
  ssh: string | null;
  log: string;
}
