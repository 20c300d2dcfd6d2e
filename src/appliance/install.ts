// `pxed service install|uninstall`: the files that make pxed a systemd service, written under a root directory
// ('/' normally, a throwaway tree in tests). Idempotent: a second install rewrites nothing and never touches an
// existing config. Uninstall keeps config and state unless purge is asked for.

import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { PxedError } from '../errors.js';
import { renderUnit, stateDirectoryName, unitSections } from './unit.js';

export const UNIT_NAME = 'pxed.service';
/** The provisioning files copied from configs/ next to the daemon config (pxed.yaml names them relatively). */
const PROVISIONING_FILES = ['defaults.yaml', 'vm_specs.yaml', 'install_config.yaml'];

export interface ServiceLayout {
  /** Files are written under this directory ('/' on a real system). */
  root: string;
  /** pxed goes on PATH as <prefix>/bin/pxed. */
  prefix: string;
  configDir: string;
  stateDir: string;
  /** Where the unit goes (default /etc/systemd/system). */
  unitDir: string;
  /** The pxed package: bin/pxed, dist/src/cli/main.js, configs/, README.md. */
  packageRoot: string;
  /** Absolute path of the node binary the service runs. */
  node: string;
}

export type StepAction = 'created' | 'updated' | 'unchanged' | 'kept' | 'removed' | 'absent';
export interface Step {
  action: StepAction;
  /** Path on the target system (without the root prefix). */
  path: string;
  note?: string;
}

function under(root: string, p: string): string {
  return path.join(root, p);
}

function requireAbsolute(name: string, p: string): void {
  if (!path.isAbsolute(p)) throw new PxedError('SERVICE_BAD_INPUT', `${name} must be an absolute path, got "${p}"`);
}

/** Writes a file atomically (temp file + rename) when its content differs. */
function writeIfChanged(real: string, content: string, mode: number): 'created' | 'updated' | 'unchanged' {
  let old: string | null;
  try {
    old = readFileSync(real, 'utf8');
  } catch {
    old = null;
  }
  if (old === content) return 'unchanged';
  mkdirSync(path.dirname(real), { recursive: true, mode: 0o755 });
  const tmp = `${real}.pxed-tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, real);
  return old === null ? 'created' : 'updated';
}

/** The example daemon config with absolute state paths (registry, admin token, assets) for the service. */
export function serviceConfig(example: string, stateDir: string): string {
  const doc = parseDocument(example);
  if (doc.errors.length > 0) throw new PxedError('SERVICE_BAD_INPUT', `example config: ${doc.errors[0]!.message}`);
  doc.setIn(['registry', 'database'], path.join(stateDir, 'pxed.db'));
  doc.setIn(['admin', 'token_file'], path.join(stateDir, 'admin.token'));
  doc.setIn(['http', 'asset_roots'], doc.createNode([path.join(stateDir, 'assets')], { flow: true }));
  const comment = (keys: string[], text: string): void => {
    const node = doc.getIn(keys, true) as { comment?: string | null } | undefined;
    if (node !== undefined) node.comment = text;
  };
  comment(['registry', 'database'], ' SQLite machine registry, in the service state directory');
  comment(['admin', 'token_file'], ' created on first start, mode 0600');
  comment(['http', 'asset_roots'], ' `pxed assets fetch` writes here');
  return doc.toString();
}

export function validateLayout(l: ServiceLayout): void {
  for (const [k, v] of Object.entries({ root: l.root, prefix: l.prefix, 'config-dir': l.configDir, 'state-dir': l.stateDir, packageRoot: l.packageRoot, node: l.node })) {
    requireAbsolute(`--${k}`, v);
  }
  stateDirectoryName(l.stateDir);
}

export function installService(l: ServiceLayout): Step[] {
  validateLayout(l);
  const steps: Step[] = [];
  const main = path.join(l.packageRoot, 'dist', 'src', 'cli', 'main.js');
  const config = path.join(l.configDir, 'pxed.yaml');

  // 1. config: from the examples, never over an existing file.
  const examples = path.join(l.packageRoot, 'configs');
  const configs: [string, () => string][] = [
    ['pxed.yaml', () => serviceConfig(readFileSync(path.join(examples, 'pxed.yaml'), 'utf8'), l.stateDir)],
    ...PROVISIONING_FILES.map((f): [string, () => string] => [f, () => readFileSync(path.join(examples, f), 'utf8')]),
  ];
  for (const [name, content] of configs) {
    const target = path.join(l.configDir, name);
    if (existsSync(under(l.root, target))) {
      steps.push({ action: 'kept', path: target, note: 'existing file left as it is' });
      continue;
    }
    steps.push({ action: writeIfChanged(under(l.root, target), content(), 0o644), path: target });
  }

  // 2. the unit.
  const unitPath = path.join(l.unitDir, UNIT_NAME);
  const unit = renderUnit(unitSections({ node: l.node, main, config, stateDir: l.stateDir, docs: path.join(l.packageRoot, 'README.md') }));
  steps.push({ action: writeIfChanged(under(l.root, unitPath), unit, 0o644), path: unitPath });

  // 3. pxed on PATH.
  const link = path.join(l.prefix, 'bin', 'pxed');
  const target = path.join(l.packageRoot, 'bin', 'pxed');
  const realLink = under(l.root, link);
  let current: string | null;
  try {
    current = lstatSync(realLink).isSymbolicLink() ? readlinkSync(realLink) : '(a file)';
  } catch {
    current = null;
  }
  if (current === target) steps.push({ action: 'unchanged', path: link });
  else if (current !== null && current === '(a file)') {
    throw new PxedError('SERVICE_CONFLICT', `${link} exists and is not a symlink: remove it or choose another --prefix`);
  } else {
    mkdirSync(path.dirname(realLink), { recursive: true, mode: 0o755 });
    if (current !== null) unlinkSync(realLink);
    symlinkSync(target, realLink);
    steps.push({ action: current === null ? 'created' : 'updated', path: link, note: `-> ${target}` });
  }
  steps.push({ action: 'unchanged', path: l.stateDir, note: 'created by systemd at first start (StateDirectory=, mode 0700)' });
  if (/^\/(home|root|run\/user)(\/|$)/.test(l.packageRoot)) {
    steps.push({ action: 'unchanged', path: l.packageRoot, note: 'WARNING: the unit hides this directory (ProtectHome=yes); put pxed under /opt or /usr/local' });
  }
  return steps;
}

export function uninstallService(l: ServiceLayout, purge: boolean): Step[] {
  validateLayout(l);
  const steps: Step[] = [];
  const remove = (p: string, note?: string): void => {
    const real = under(l.root, p);
    let present = true;
    try {
      lstatSync(real);
    } catch {
      present = false;
    }
    if (present) rmSync(real, { recursive: true, force: true });
    steps.push({ action: present ? 'removed' : 'absent', path: p, ...(note !== undefined ? { note } : {}) });
  };
  remove(path.join(l.unitDir, UNIT_NAME));
  const link = path.join(l.prefix, 'bin', 'pxed');
  let ours: boolean;
  try {
    ours = readlinkSync(under(l.root, link)) === path.join(l.packageRoot, 'bin', 'pxed');
  } catch {
    ours = false;
  }
  if (ours) remove(link);
  else steps.push({ action: 'kept', path: link, note: 'not our symlink' });
  if (purge) {
    remove(l.configDir);
    remove(l.stateDir);
    // DynamicUser keeps the real state under /var/lib/private/<name>.
    remove(path.join('/var/lib/private', stateDirectoryName(l.stateDir)));
  } else {
    steps.push({ action: 'kept', path: l.configDir, note: 'config kept (--purge removes it)' });
    steps.push({ action: 'kept', path: l.stateDir, note: 'registry and admin token kept (--purge removes them)' });
  }
  return steps;
}
