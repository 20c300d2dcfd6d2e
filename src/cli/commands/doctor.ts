// `pxed doctor [--json]`: runs the checks in src/doctor and prints each with its fix. Exit 0 when nothing failed.

import path from 'node:path';
import { findDaemonConfig } from '../../appliance/paths.js';
import { loadDaemonConfig } from '../../config/load.js';
import { runDoctor } from '../../doctor/checks.js';
import type { DhcpProbe } from '../../doctor/lan.js';
import { probeDhcp } from '../../dhcp/probe.js';
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';

const options = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  'no-lan': { type: 'boolean' },
  'lan-wait': { type: 'string' },
} as const;

const help = `Usage: pxed doctor [--config FILE] [--json] [--no-lan] [--lan-wait SECONDS]

Checks what a machine needs to boot from this pxed and says how to fix what is wrong: the interface and its
address, whether the DHCP/TFTP/HTTP ports are free (or who holds them), the capability to bind low ports, the TFTP
roots and iPXE binaries, the asset roots and every catalog file a boot loads from pxed (missing: the
\`pxed assets fetch\` command), the registry (writable, migrated, integrity), the admin token's
permissions, the provisioning files; and who else answers PXE on the LAN: it sends one PXE DISCOVER from the
provisioning address (UDP 68, broadcast) and lists every DHCP or proxy-DHCP server that answers with the boot
options it hands out (66/67/next-server/43), failing when those would make firmware or iPXE ignore pxed.
Run it as root on the provisioning host to see everything.

Options:
  -c, --config FILE   daemon config (default: ./configs/pxed.yaml, else /etc/pxed/pxed.yaml)
      --json          one JSON document: {"ok": bool, "checks": [{id, status, summary, fix?}]}
      --no-lan        do not send the PXE DISCOVER (no broadcast on the LAN)
      --lan-wait S    how long to collect answers (default 3.5: dnsmasq may ping-check 3 s before it offers)

Exit status: 0 nothing failed (warnings allowed), 1 a check failed, 2 usage or configuration error.
`;

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options);
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
  const file = values.config !== undefined ? path.resolve(io.cwd, values.config) : findDaemonConfig(io.cwd);
  if (file === null) throw usageError('no daemon config: give --config, or install one (pxed service install)');
  const config = loadDaemonConfig(file, { cwd: io.cwd });
  const wait = values['lan-wait'] === undefined ? 3.5 : Number(values['lan-wait']);
  if (!Number.isFinite(wait) || wait <= 0 || wait > 60) throw usageError(`--lan-wait: expected seconds between 0 and 60, got "${values['lan-wait']}"`);
  const probe: DhcpProbe = (address, timeoutMs) => probeDhcp({ address, timeoutMs });
  const checks = await runDoctor({ config, env: io.env, probe: values['no-lan'] === true ? null : probe, lanWaitMs: Math.round(wait * 1000) });
  const ok = checks.every((c) => c.status !== 'fail');
  if (values.json === true) {
    io.stdout(JSON.stringify({ ok, config: file, checks }, null, 2) + '\n');
  } else {
    io.stdout(`pxed doctor: ${file}\n`);
    for (const c of checks) {
      io.stdout(`${MARK[c.status]} ${c.id}: ${c.summary}\n`);
      if (c.fix !== undefined) io.stdout(`     fix: ${c.fix}\n`);
    }
    const n = (s: string): number => checks.filter((c) => c.status === s).length;
    io.stdout(`${n('ok')} ok, ${n('warn')} warnings, ${n('fail')} failed\n`);
  }
  return ok ? EXIT_OK : EXIT_FAILURE;
}

export const doctorCommand: Command = { name: 'doctor', summary: 'check this host can boot machines, with fixes', help, run };
