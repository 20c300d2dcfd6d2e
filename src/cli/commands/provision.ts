// `pxed provision`: the original framework's CLI (provision.py) on pxed: per host infra (Terraform, Proxmox) →
// pxe (register with pxed, install armed) → os (wait for `installed`) → post (Ansible), hosts in parallel.
import { AnsiblePostInstallRunner } from '../../orchestrator/ansible/port.js';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { resolveServerAddress } from '../../config/daemon.js';
import { loadDaemonConfig, loadProvisioning } from '../../config/load.js';
import { proxmoxEndpoint } from '../../config/original.js';
import { proxmoxEnv, redactor, secretValues } from '../../orchestrator/credentials.js';
import { localMachines, remoteMachines } from '../../orchestrator/machines.js';
import { mapBounded, provisionHost } from '../../orchestrator/pipeline.js';
import { statusBoard, summaryTable } from '../../orchestrator/report.js';
import { defaultModuleDir } from '../../orchestrator/terraform/root.js';
import { STAGES, type MachinePort, type PostInstallRunner, type Stage } from '../../orchestrator/types.js';
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';

const HELP = `Usage: pxed provision [options]

Creates, installs and configures the hosts of the provisioning inputs, in parallel, one status line per host,
then prints a summary (host, stages done, result, duration, IP, ssh hint, log). Exit status 1 if any host failed.

Options:
  --defaults F          defaults.yaml (default configs/defaults.yaml)
  --vm-specs F          vm_specs.yaml (default configs/vm_specs.yaml)
  --install-config F    install_config.yaml, or "-" for standard input (default configs/install_config.yaml)
  --hosts H...          only these hosts (names; repeat, space- or comma-separated)
  --targets S...        stages to run, from: infra pxe os post (default: all four)
  --concurrency N       hosts at a time (default 4)
  --plan-only           terraform plan only: never applies, never registers, never waits
  --server URL          register with a running pxed over its API (bearer token from PXED_TOKEN); the post
                        stage's results (Ansible's recap, configured/failed) go onto its machine timeline
  --daemon-config F     without --server: use this pxed.yaml's registry (default configs/pxed.yaml)
  --timeout DUR         how long the os stage waits for "installed", e.g. 45m, 90s (default 60m)
  --build-dir D         work directories build/<host>/{tf,ansible,logs} (default build)
  --playbook F          the post stage's playbook for Ubuntu hosts (default ansible/playbooks/site.yml)
  --post-chroot DIR     post: configure the root file system DIR over Ansible's chroot connection instead of
                        ssh to the host (one host only; image builds)
  --json                print the summary as JSON on stdout
Environment:
  PROXMOX_VE_API_TOKEN (user@realm!id=secret) or PM_API_TOKEN_ID + PM_API_TOKEN_SECRET; PROXMOX_VE_ENDPOINT
  (else proxmox_provider.pm_api_url). PXED_TOKEN for --server. PXED_TERRAFORM: terraform binary (default terraform).
`;

/** The post stage's runner: the Ansible stage (src/orchestrator/ansible/) unless a test plugs in another. */
export const postRunners: { current: PostInstallRunner | null } = { current: null };

function durationMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw usageError(`--timeout: expected a duration like 90s, 45m or 2h, got "${s}"`);
  const n = Number(m[1]);
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h']);
}

/** `--hosts a b --targets infra pxe` as the original takes them → `--hosts=a --hosts=b ...`. */
function spreadLists(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--hosts' || a === '--targets') {
      let n = 0;
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
        for (const v of argv[++i]!.split(',')) if (v !== '') out.push(`${a}=${v}`);
        n++;
      }
      if (n === 0) out.push(a);
    } else {
      out.push(a);
    }
  }
  return out;
}

async function provision(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    spreadLists(argv),
    {
      defaults: { type: 'string', default: 'configs/defaults.yaml' },
      'vm-specs': { type: 'string', default: 'configs/vm_specs.yaml' },
      'install-config': { type: 'string', default: 'configs/install_config.yaml' },
      hosts: { type: 'string', multiple: true },
      targets: { type: 'string', multiple: true },
      concurrency: { type: 'string', default: '4' },
      'plan-only': { type: 'boolean', default: false },
      server: { type: 'string' },
      'daemon-config': { type: 'string' },
      timeout: { type: 'string', default: '60m' },
      'build-dir': { type: 'string', default: 'build' },
      playbook: { type: 'string' },
      'post-chroot': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    false,
  );
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw usageError('--concurrency: expected an integer 1-256');
  const targets = (values.targets ?? [...STAGES]) as Stage[];
  for (const t of targets) if (!(STAGES as readonly string[]).includes(t)) throw usageError(`--targets: unknown stage "${t}"; expected ${STAGES.join(', ')}`);
  const osTimeoutMs = durationMs(values.timeout);
  const abs = (f: string) => (f === '-' ? f : path.resolve(io.cwd, f));

  const prov = await loadProvisioning(
    { defaults: abs(values.defaults), vmSpecs: abs(values['vm-specs']), installConfig: abs(values['install-config']) },
    { readStdin: io.readStdin },
  );
  const wanted = values.hosts ?? prov.hosts.map((h) => h.name);
  for (const h of wanted) if (prov.hostByName(h) === null) throw usageError(`--hosts: no host "${h}" in ${prov.sources.vmSpecs}`);
  const hosts = prov.hosts.filter((h) => wanted.includes(h.name));
  if (values['post-chroot'] !== undefined && hosts.length !== 1) throw usageError('--post-chroot: select exactly one host with --hosts');

  const env: Record<string, string | undefined> = { ...io.env };
  const secrets = secretValues(io.env);
  if (targets.includes('infra') && hosts.some((h) => h.hypervisor === 'proxmox')) {
    const px = proxmoxEnv(io.env, proxmoxEndpoint(prov.defaults));
    Object.assign(env, px.env);
    secrets.push(...px.secrets);
  }
  const redact = redactor(secrets);

  const server = values.server ?? io.env.PXED_SERVER;
  // post alone needs no registry, but with --server its results go onto the daemon's timeline.
  const needsMachines = !values['plan-only'] && (targets.includes('pxe') || targets.includes('os') || (targets.includes('post') && server !== undefined && server !== ''));
  let machines: MachinePort | null = null;
  if (needsMachines) {
    if (server) {
      machines = remoteMachines(server, io.env.PXED_TOKEN);
    } else {
      const cfgFile = abs(values['daemon-config'] ?? 'configs/pxed.yaml');
      if (!existsSync(cfgFile)) throw usageError(`the pxe/os stages need --server URL or a daemon config (${cfgFile} not found)`);
      const daemon = loadDaemonConfig(cfgFile, { cwd: io.cwd });
      machines = localMachines(daemon.registry.database, prov, {
        installMode: daemon.policy.install_mode,
        tokenTtlMinutes: daemon.policy.token_ttl_minutes,
        serverUrl: () => {
          if (prov.defaults.http?.public_url) return prov.defaults.http.public_url;
          try {
            return `http://${resolveServerAddress(daemon.server).address}:${daemon.http.port}`;
          } catch {
            return null;
          }
        },
      });
    }
  }

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tty = !values.json && process.stdout.isTTY === true;
  const board = statusBoard(hosts.map((h) => h.name), values.json ? io.stderr : io.stdout, tty);
  try {
    const rows = await mapBounded(hosts, concurrency, (host) =>
      provisionHost(host, {
        prov,
        targets,
        buildDir: abs(values['build-dir']),
        moduleDir: io.env.PXED_TERRAFORM_MODULE ?? defaultModuleDir(),
        terraform: io.env.PXED_TERRAFORM ?? 'terraform',
        env,
        redact,
        planOnly: values['plan-only'],
        machines,
        post:
          postRunners.current ??
          new AnsiblePostInstallRunner({
            stateDir: path.join(abs(values['build-dir']), '.ansible'),
            ...(values.playbook !== undefined ? { playbook: abs(values.playbook) } : {}),
            ...(values['post-chroot'] !== undefined ? { chrootRoot: abs(values['post-chroot']) } : {}),
          }),
        seedServerUrl: server ?? prov.defaults.http?.public_url ?? null,
        osTimeoutMs,
        pollMs: Number(io.env.PXED_POLL_MS ?? 2000),
        signal: controller.signal,
        onStatus: (h, stage, text) => board.update(h, stage, redact(text)),
      }),
    );
    board.stop();
    if (values.json) io.stdout(JSON.stringify({ ok: rows.every((r) => r.result === 'ok'), cancelled: controller.signal.aborted, hosts: rows }, null, 2) + '\n');
    else io.stdout('\n' + summaryTable(rows));
    return rows.every((r) => r.result === 'ok') ? EXIT_OK : EXIT_FAILURE;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await machines?.close?.();
  }
}

export const provisionCommand: Command = {
  name: 'provision',
  summary: 'create (Terraform/Proxmox), register, install and configure hosts (the provision.py CLI)',
  help: HELP,
  run: provision,
};
