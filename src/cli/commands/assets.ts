// `pxed assets list | fetch [name…] | verify [name…]`: the files the image catalog references, in the asset roots.
import path from 'node:path';
import { findDaemonConfig } from '../../appliance/paths.js';
import { catalogAssets, selectAssets, type AssetSpec } from '../../assets/catalog.js';
import { fetchAssets, verifyAssets, type FetchEvent } from '../../assets/fetch.js';
import { progressPrinter } from '../../assets/progress.js';
import { locate } from '../../assets/status.js';
import type { DaemonConfig } from '../../config/daemon.js';
import { loadDaemonConfig, loadProvisioning } from '../../config/load.js';
import { isPxedError } from '../../errors.js';
import { escapeField, escapeText } from '../escape.js';
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, usageError, type CliIO, type Command } from '../io.js';
import { provisioningFiles, provisioningFlags, resolveArg, selfUrls } from '../offline.js';

const HELP = `Usage: pxed assets list|fetch|verify [name…] [options]

The kernels, initrds, ISOs and NixOS netboot.ipxe files the image catalog (defaults.yaml images:) references.

  list            each asset: name, state (verified, unverified, missing), path below the asset roots, source
  fetch [name…]   download (or extract from the release's ISO) into the first asset root: resumes a .part file left
                  by an interrupted run (HTTP Range), checks SHA-256 (catalog sha256, else sha256sums_url), and
                  renames into place only when complete and correct; a corrupt download is deleted
  verify [name…]  re-hash present assets against the catalog's SHA-256 or the record of their verified fetch

Names are <os>/<version>/<iso|kernel|initrd|netboot.ipxe> (see list); a prefix such as ubuntu/24.04 or nixos
selects several. No name = all.

Options:
  -c, --config FILE     daemon config: http.asset_roots and the provisioning files (default: ./configs/pxed.yaml,
                        else /etc/pxed/pxed.yaml)
      --asset-root DIR  use this asset root instead of http.asset_roots (repeatable; fetch writes to the first)
      --defaults F      defaults.yaml (also --vm-specs F, --install-config F), instead of the daemon config's
      --json            one JSON document on stdout
      --help            show this help

Exit status: 0 everything fetched/verified or present, 1 an asset failed (download, checksum, missing, mismatch),
2 usage or configuration error.
`;

const options = {
  config: { type: 'string', short: 'c' },
  'asset-root': { type: 'string', multiple: true },
  ...provisioningFlags,
  json: { type: 'boolean', default: false },
} as const;

interface Setup {
  specs: AssetSpec[];
  roots: string[];
}

async function setup(values: ReturnType<typeof parse>['values'], io: CliIO): Promise<Setup> {
  const asGiven = (f: string): string => resolveArg(io, f);
  const file = values.config !== undefined ? asGiven(values.config) : findDaemonConfig(io.cwd);
  const daemon: Readonly<DaemonConfig> | null = file !== null ? loadDaemonConfig(file, { cwd: io.cwd }) : null;
  const prov = await loadProvisioning(provisioningFiles(values, daemon, asGiven), { readStdin: io.readStdin });
  const roots = values['asset-root'] !== undefined ? values['asset-root'].map(asGiven) : [...(daemon?.http.asset_roots ?? [])];
  if (roots.length === 0) {
    throw usageError(`no asset root: set http.asset_roots in ${file ?? 'the daemon config'} or pass --asset-root DIR`);
  }
  const self = daemon?.server.address !== undefined ? selfUrls(prov, `http://${daemon.server.address}:${daemon.http.port}`) : selfUrls(prov, '');
  return { specs: catalogAssets(prov.defaults.images, self.filter((u) => u !== '')), roots };
}

function parse(argv: string[]) {
  return parseCommandArgs(argv, options);
}

function sourceText(a: AssetSpec): string {
  switch (a.source.kind) {
    case 'url':
      return a.source.url;
    case 'iso':
      return `${a.source.iso}:/${a.source.member}`;
    default:
      return '(copy by hand)';
  }
}

function table(head: string[], rows: string[][]): string {
  const cells = rows.map((r) => r.map(escapeField));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}

async function list(names: string[], values: ReturnType<typeof parse>['values'], io: CliIO): Promise<number> {
  const { specs, roots } = await setup(values, io);
  const picked = selectAssets(specs, names);
  const rows = [];
  for (const a of picked) {
    const st = await locate(a.path, roots, a.sha256);
    const state = st.state === 'missing' ? 'missing' : st.verified ? 'verified' : 'unverified';
    rows.push({ name: a.name, state, path: a.path, served_by_pxed: a.servedByPxed, source: sourceText(a), ...(st.state === 'present' ? { file: st.file, size: st.size } : {}) });
  }
  if (values.json) io.stdout(JSON.stringify({ roots, assets: rows }, null, 2) + '\n');
  else io.stdout(table(['NAME', 'STATE', 'PATH', 'SOURCE'], rows.map((r) => [r.name, r.state, r.path, r.source])));
  return EXIT_OK;
}

async function fetch(names: string[], values: ReturnType<typeof parse>['values'], io: CliIO): Promise<number> {
  const { specs, roots } = await setup(values, io);
  const picked = selectAssets(specs, names);
  const root = path.resolve(roots[0]!);
  const progress = progressPrinter(io.stderr, io.stderrIsTTY === true);
  const onEvent = (e: FetchEvent): void => {
    if (e.type === 'progress') progress.update(e.name, e.progress);
    else if (e.type === 'start') io.stderr(`${e.name}: from ${escapeText(e.from)}${e.resumeAt > 0 ? ` (resuming at byte ${e.resumeAt})` : ''}\n`);
    else io.stderr(`${e.name}: ${escapeText(e.message)}\n`);
  };
  // No signal handler: an interrupted run (Ctrl-C) leaves its .part, which the next run resumes.
  let results;
  try {
    results = await fetchAssets(picked, specs, { root, onEvent });
  } finally {
    progress.end();
  }
  if (values.json) io.stdout(JSON.stringify({ root, results }, null, 2) + '\n');
  else for (const r of results) io.stdout(`${r.outcome === 'failed' ? 'FAIL' : 'ok  '} ${r.name}: ${escapeText(r.message)}\n`);
  return results.length === picked.length && results.every((r) => r.outcome !== 'failed') ? EXIT_OK : EXIT_FAILURE;
}

async function verify(names: string[], values: ReturnType<typeof parse>['values'], io: CliIO): Promise<number> {
  const { specs, roots } = await setup(values, io);
  const results = await verifyAssets(selectAssets(specs, names), roots);
  if (values.json) io.stdout(JSON.stringify({ roots, results }, null, 2) + '\n');
  else for (const r of results) io.stdout(`${r.outcome.padEnd(10)} ${r.name}: ${escapeText(r.message)}\n`);
  return results.every((r) => r.outcome === 'verified' || r.outcome === 'unverified') ? EXIT_OK : EXIT_FAILURE;
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv);
  const [sub, ...names] = positionals;
  try {
    if (sub === 'list') return await list(names, values, io);
    if (sub === 'fetch') return await fetch(names, values, io);
    if (sub === 'verify') return await verify(names, values, io);
  } catch (err) {
    if (isPxedError(err, 'ASSET_UNKNOWN')) throw usageError(err.message);
    throw err;
  }
  throw usageError(sub === undefined ? 'missing subcommand; expected list, fetch or verify' : `unknown subcommand "${sub}"; expected list, fetch or verify`);
}

export const assetsCommand: Command = {
  name: 'assets',
  summary: 'list, fetch and verify the kernels, initrds and ISOs the image catalog references',
  help: HELP,
  run,
};
