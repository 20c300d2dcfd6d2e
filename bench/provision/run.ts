// `pxed provision` fan-out benchmark: 50 Proxmox hosts, --targets infra, --concurrency 8, a stand-in terraform
// (bench/provision/terraform) sleeping 1 s per step (init, validate, plan, apply, output = 5 steps). Ideal wall
// time = ceil(50/8) × 5 s = 35 s; reported: wall, overhead vs ideal, orchestrator peak RSS (VmHWM) and CPU time
// (utime+stime from /proc, children excluded).
// Run: npx tsc -p tsconfig.json && node dist/bench/provision/run.js [hosts] [concurrency]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HOSTS = Number(process.argv[2] ?? 50);
const CONC = Number(process.argv[3] ?? 8);
const STEPS = 5;
const repo = process.cwd();
const cli = path.join(repo, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-bench-provision-'));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIILmBPOixGkAZGsNrK1Zmd/XorWuLVOvhhj/efZu9qT9 b@h';
const names = Array.from({ length: HOSTS }, (_, i) => `vm-${String(i).padStart(3, '0')}`);
writeFileSync(path.join(dir, 'vm_specs.yaml'), JSON.stringify({ vms: names.map((name) => ({ name, boot_method: 'pxe', netifs: [{ bridge: 'vmbr0' }], proxmox: { node: 'pve1', storage: 'local-lvm' } })) }));
writeFileSync(path.join(dir, 'install_config.yaml'), JSON.stringify({ installs: Object.fromEntries(names.map((n) => [n, { os: 'ubuntu', version: '24.04', users: [{ username: 'ops', ssh_authorized_keys: [KEY] }] }])) }));

const clk = 100; // USER_HZ on Linux
function sample(pid: number): { rssKb: number; cpuS: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssKb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0), cpuS: (Number(f[11]) + Number(f[12])) / clk };
  } catch {
    return null;
  }
}

const t0 = Date.now();
const child = spawn(process.execPath, [cli, 'provision', '--defaults', path.join(repo, 'test/fixtures/config/original/defaults.yaml'), '--vm-specs', path.join(dir, 'vm_specs.yaml'), '--install-config', path.join(dir, 'install_config.yaml'), '--targets', 'infra', '--concurrency', String(CONC), '--json', '--build-dir', path.join(dir, 'build')], {
  env: { PATH: process.env.PATH, PXED_TERRAFORM: path.join(repo, 'bench/provision/terraform'), PROXMOX_VE_API_TOKEN: 'bench@pve!t=0000', PROXMOX_VE_ENDPOINT: 'https://pve.invalid:8006/' },
  stdio: ['ignore', 'pipe', 'ignore'],
});
const peak = { rssKb: 0, cpuS: 0 };
const timer = setInterval(() => {
  const s = sample(child.pid!);
  // A zombie's /proc entry has no VmHWM: keep the last live figures.
  if (s && s.rssKb > 0) {
    peak.rssKb = Math.max(peak.rssKb, s.rssKb);
    peak.cpuS = s.cpuS;
  }
}, 100);
let out = '';
child.stdout.on('data', (d: Buffer) => (out += d.toString()));
const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
clearInterval(timer);
const wall = (Date.now() - t0) / 1000;
const ideal = Math.ceil(HOSTS / CONC) * STEPS;
const res = JSON.parse(out) as { ok: boolean; hosts: Array<{ result: string }> };
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  hosts: HOSTS,
  concurrency: CONC,
  exit: code,
  ok: res.hosts.filter((h) => h.result === 'ok').length,
  wall_s: Number(wall.toFixed(2)),
  ideal_s: ideal,
  over_ideal_pct: Number((((wall - ideal) / ideal) * 100).toFixed(1)),
  peak_rss_mb: Number((peak.rssKb / 1024).toFixed(1)),
  cpu_s: peak.cpuS,
}));
