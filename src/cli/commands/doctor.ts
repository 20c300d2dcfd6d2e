// `pxed doctor [--json]`: runs the checks in src/doctor and prints each with its fix. Exit 0 when nothing failed.

import path from 'node:path';
import { findDaemonConfig } from '../../appliance/paths.js';
import { loadDaemonConfig } from '../../config/load.js';
import { runDoctor } from '../../doctor/checks.js';
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';

const options = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
} as const;

const help = `Usage: pxed doctor [--config FILE] [--json]

Checks what a machine needs to boot from this pxed and says how to fix what is wrong: the interface and its
address, whether the DHCP/TFTP/HTTP ports are free (or who holds them), the capability to bind low ports, the TFTP
roots and iPXE binaries, the asset roots, the registry (writable, migrated, integrity), the admin token's
permissions, the provisioning files. Run it as the user pxed runs as (or root) to see everything.

Options:
  -c, --config FILE   daemon config (default: ./configs/pxed.yaml, else /etc/pxed/pxed.yaml)
      --json          one JSON document: {"ok": bool, "checks": [{id, status, summary, fix?}]}

Exit status: 0 nothing failed (warnings allowed), 1 a check failed, 2 usage or configuration error.
`;

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options);
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
  const file = values.config !== undefined ? path.resolve(io.cwd, values.config) : findDaemonConfig(io.cwd);
  if (file === null) throw usageError('no daemon config: give --config, or install one (pxed service install)');
  const config = loadDaemonConfig(file, { cwd: io.cwd });
  const checks = await runDoctor({ config, env: io.env });
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
