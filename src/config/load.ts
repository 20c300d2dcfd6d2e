// Loading config files: YAML (with source positions) → zod → cross-file checks → merged, deep-frozen model.
// This module reads the files it is given and nothing else; standard input comes from the caller (`readStdin`).
// The work is split by job: issues.ts (the error type), yaml-source.ts (positions), daemon-load.ts (pxed.yaml),
// crosscheck.ts (provisioning checks), merge.ts (layering), original.ts (the original framework's keys).

import { readFile } from 'node:fs/promises';
import { configError, type ConfigIssue } from './issues.js';
import { validateProvisioning } from './crosscheck.js';
import { buildProvisioning } from './merge.js';
import { originalNotes } from './original.js';
import type { Provisioning } from './provisioning.js';
import { YamlSource } from './yaml-source.js';

export type { DaemonConfig } from './daemon.js';
export type { HostSpec, Provisioning } from './provisioning.js';
export { configError, formatIssue, formatPath, type ConfigIssue, type PathSeg } from './issues.js';
export { YamlSource, zodIssues } from './yaml-source.js';
export { loadDaemonConfig, parseDaemonConfig, type DaemonOverrides } from './daemon-load.js';
export { mergeHost } from './merge.js';

export interface ProvisioningFiles {
  /** Each a file path, or "-" for standard input (at most one of them). */
  defaults: string;
  vmSpecs: string;
  installConfig: string;
}

export interface LoadOptions {
  /** Returns all of standard input; needed only when one of the files is "-". */
  readStdin?: () => Promise<string>;
}

async function readSource(file: string, opts: LoadOptions, issues: ConfigIssue[]): Promise<YamlSource | null> {
  const name = file === '-' ? '<stdin>' : file;
  try {
    let text: string;
    if (file === '-') {
      if (!opts.readStdin) throw new Error('standard input is not available here');
      text = await opts.readStdin();
    } else {
      text = await readFile(file, 'utf8');
    }
    const src = new YamlSource(name, text);
    issues.push(...src.issues);
    return src.issues.length === 0 ? src : null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    issues.push({ file: name, line: 0, col: 0, path: '', message: `cannot read file: ${e.code === 'ENOENT' ? 'no such file' : e.message}` });
    return null;
  }
}

/**
 * Loads, validates, merges (install_config > vm_specs > defaults) and freezes the three provisioning inputs.
 * Throws PxedError CONFIG_INVALID with every problem found in all three files.
 */
export async function loadProvisioning(files: ProvisioningFiles, opts: LoadOptions = {}): Promise<Readonly<Provisioning>> {
  const issues: ConfigIssue[] = [];
  const dashes = [files.defaults, files.vmSpecs, files.installConfig].filter((f) => f === '-').length;
  if (dashes > 1) {
    throw configError([{ file: '<command line>', line: 0, col: 0, path: '', message: 'only one input may be "-" (standard input)' }]);
  }
  const defSrc = await readSource(files.defaults, opts, issues);
  const vmSrc = await readSource(files.vmSpecs, opts, issues);
  const instSrc = await readSource(files.installConfig, opts, issues);
  const prov = validateProvisioning(defSrc, vmSrc, instSrc, issues);
  if (issues.length > 0 || prov === null) throw configError(issues);
  const sources = {
    defaults: defSrc!.file,
    vmSpecs: vmSrc!.file,
    installConfig: instSrc!.file,
  };
  const notes = originalNotes({ defaults: defSrc!, vmSpecs: vmSrc!, installConfig: instSrc! }, prov.defaults, prov.hosts);
  return buildProvisioning(sources, prov.defaults, prov.hosts, notes);
}

/** Same as loadProvisioning on in-memory texts (names are used in issues). */
export function parseProvisioning(
  texts: { defaults: [name: string, text: string]; vmSpecs: [string, string]; installConfig: [string, string] },
): Readonly<Provisioning> {
  const issues: ConfigIssue[] = [];
  const mk = ([name, text]: [string, string]) => {
    const s = new YamlSource(name, text);
    issues.push(...s.issues);
    return s.issues.length === 0 ? s : null;
  };
  const d = mk(texts.defaults);
  const v = mk(texts.vmSpecs);
  const i = mk(texts.installConfig);
  const prov = validateProvisioning(d, v, i, issues);
  if (issues.length > 0 || prov === null) throw configError(issues);
  const notes = originalNotes({ defaults: d!, vmSpecs: v!, installConfig: i! }, prov.defaults, prov.hosts);
  return buildProvisioning({ defaults: d!.file, vmSpecs: v!.file, installConfig: i!.file }, prov.defaults, prov.hosts, notes);
}

