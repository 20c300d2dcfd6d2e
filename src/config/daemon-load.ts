// The daemon config file (pxed.yaml): parse, resolve paths, apply command-line overrides, re-validate, freeze.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { daemonConfigSchema, resolveDaemonPaths, type DaemonConfig } from './daemon.js';
import { configError, formatPath, type PathSeg } from './issues.js';
import { deepFreeze, isPlainObject } from './provisioning.js';
import { YamlSource, zodIssues } from './yaml-source.js';

/** What operators override most from the command line (like dnsmasq/pixiecore flags). Paths relative to `cwd`. */
export interface DaemonOverrides {
  interface?: string;
  address?: string;
  http_port?: number;
  /** Replaces tftp.roots when non-empty. */
  tftp_roots?: string[];
  database?: string;
  defaults?: string;
  vm_specs?: string;
  install_config?: string;
  /** Base for relative override paths; default process.cwd(). */
  cwd?: string;
}

/** Parses daemon config text; `file` names it in issues and its directory anchors relative paths. */
export function parseDaemonConfig(text: string, file: string, overrides: DaemonOverrides = {}): Readonly<DaemonConfig> {
  const src = new YamlSource(file, text);
  if (src.issues.length > 0) throw configError(src.issues);
  // A section whose every line is commented out reads as null: treat it as absent.
  const data = isPlainObject(src.data) ? Object.fromEntries(Object.entries(src.data).filter(([, v]) => v !== null)) : (src.data ?? {});
  const parsed = daemonConfigSchema.safeParse(data);
  if (!parsed.success) throw configError(zodIssues(src, parsed.error, [], daemonConfigSchema));
  let cfg = resolveDaemonPaths(parsed.data, path.dirname(path.resolve(file)));
  cfg = applyOverrides(cfg, overrides);
  return deepFreeze(cfg);
}

/** Reads and validates the daemon config file (see parseDaemonConfig). Throws CONFIG_INVALID. */
export function loadDaemonConfig(file: string, overrides: DaemonOverrides = {}): Readonly<DaemonConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw configError([{ file, line: 0, col: 0, path: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  return parseDaemonConfig(text, file, overrides);
}

const OVERRIDE_FLAGS: Record<string, string> = {
  'server.interface': '--interface',
  'server.address': '--address',
  'http.port': '--http-port',
  'tftp.roots': '--tftp-root',
  'registry.database': '--db',
  'provisioning.defaults': '--defaults',
  'provisioning.vm_specs': '--vm-specs',
  'provisioning.install_config': '--install-config',
};

function applyOverrides(cfg: DaemonConfig, o: DaemonOverrides): DaemonConfig {
  const cwd = o.cwd ?? process.cwd();
  const abs = (p: string) => (p === '-' ? p : path.resolve(cwd, p));
  const merged = {
    ...cfg,
    server: { ...cfg.server, ...(o.interface !== undefined ? { interface: o.interface } : {}), ...(o.address !== undefined ? { address: o.address } : {}) },
    http: { ...cfg.http, ...(o.http_port !== undefined ? { port: o.http_port } : {}) },
    tftp: { ...cfg.tftp, ...(o.tftp_roots !== undefined && o.tftp_roots.length > 0 ? { roots: o.tftp_roots.map(abs) } : {}) },
    registry: { ...cfg.registry, ...(o.database !== undefined ? { database: abs(o.database) } : {}) },
    provisioning: {
      defaults: o.defaults !== undefined ? abs(o.defaults) : cfg.provisioning.defaults,
      vm_specs: o.vm_specs !== undefined ? abs(o.vm_specs) : cfg.provisioning.vm_specs,
      install_config: o.install_config !== undefined ? abs(o.install_config) : cfg.provisioning.install_config,
    },
  };
  // Re-validate: override values get the same checks as file values, reported against the flag.
  const again = daemonConfigSchema.safeParse(merged);
  if (!again.success) {
    throw configError(
      again.error.issues.map((zi) => {
        const p = formatPath(zi.path as PathSeg[]);
        const flag = OVERRIDE_FLAGS[p.replace(/\[\d+\]$/, '')];
        return { file: '<command line>', line: 0, col: 0, path: flag ?? p, message: zi.message };
      }),
    );
  }
  return again.data;
}

