// Loading config files: YAML (with source positions) → zod → cross-file checks → merged, deep-frozen model.
// Every problem becomes a ConfigIssue {file, line, col, path, message}; all of them are collected and thrown at once
// as one PxedError CONFIG_INVALID (details.issues), whose message lists `file:line:col: path: message` lines.
// This module reads the files it is given and nothing else; standard input comes from the caller (`readStdin`).

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { PxedError } from '../errors.js';
import { daemonConfigSchema, resolveDaemonPaths, type DaemonConfig } from './daemon.js';
import { formatIpv4, ipInCidr, isHostname, normalizeMac, parseCidr } from './net.js';
import {
  BUILTIN_INSTALL,
  BUILTIN_VM,
  deepFreeze,
  deepMerge,
  defaultsFileSchema,
  installConfigFileSchema,
  installEntrySchema,
  isPlainObject,
  vmSpecSchema,
  vmSpecsFileSchema,
  type DefaultsFile,
  type HostSpec,
  type ImageEntry,
  type InstallEntry,
  type InstallSpec,
  type Provisioning,
  type VmSpec,
} from './provisioning.js';

export { normalizeMac } from './net.js';
export type { DaemonConfig } from './daemon.js';
export type { HostSpec, Provisioning } from './provisioning.js';

export interface ConfigIssue {
  /** The file as the caller named it, "<stdin>" for "-", "<command line>" for CLI overrides. */
  file: string;
  /** 1-based; 0 when the problem has no position (unreadable file, command-line override). */
  line: number;
  col: number;
  /** Key path like `vms[2].netifs[0].mac`; "" for the whole document. */
  path: string;
  /** What is wrong and what is expected. */
  message: string;
}

export type PathSeg = string | number;

export function formatPath(p: readonly PathSeg[]): string {
  let out = '';
  for (const seg of p) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file;
  return i.path === '' ? `${where}: ${i.message}` : `${where}: ${i.path}: ${i.message}`;
}

/** The CONFIG_INVALID error for a non-empty issue list. */
export function configError(unsorted: ConfigIssue[]): PxedError {
  // Group by file (in order of first appearance), then by position.
  const fileOrder = new Map<string, number>();
  for (const i of unsorted) if (!fileOrder.has(i.file)) fileOrder.set(i.file, fileOrder.size);
  const issues = [...unsorted].sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.col - b.col);
  const n = issues.length;
  const lines = issues.map((i) => `  ${formatIssue(i)}`);
  return new PxedError('CONFIG_INVALID', [`invalid configuration (${n} error${n === 1 ? '' : 's'}):`, ...lines].join('\n'), {
    issues,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// YAML with positions

/** One parsed YAML source: its display name, the document (for positions) and its plain JS value. */
export class YamlSource {
  readonly issues: ConfigIssue[] = [];
  readonly data: unknown;
  private readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    for (const e of this.doc.errors) {
      const { line, col } = this.lines.linePos(e.pos[0]);
      this.issues.push({ file, line, col, path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}` });
    }
    this.data = this.doc.errors.length === 0 ? this.doc.toJS({ maxAliasCount: 100 }) : undefined;
  }

  /** How many leading segments of `p` exist in the document. */
  depth(p: readonly PathSeg[]): number {
    return this.walk(p).depth;
  }

  /** True when the exact path exists in the document. */
  has(p: readonly PathSeg[]): boolean {
    return this.walk(p).depth === p.length;
  }

  /**
   * Position of `p`: its value node (or, with `atKey`, its key), or of the deepest existing ancestor when `p` does
   * not exist in this document. 1-based line and column.
   */
  position(p: readonly PathSeg[], atKey = false): { line: number; col: number } {
    const w = this.walk(p);
    const node = atKey && w.depth === p.length && w.key ? w.key : (w.node ?? w.key);
    const offset = node?.range?.[0] ?? 0;
    return this.lines.linePos(offset);
  }

  issue(p: readonly PathSeg[], message: string, atKey = false): ConfigIssue {
    return { file: this.file, ...this.position(p, atKey), path: formatPath(p), message };
  }

  private walk(p: readonly PathSeg[]): { node: YamlNode | null; key: YamlNode | null; depth: number } {
    let node: YamlNode | null = (this.doc.contents as YamlNode | null) ?? null;
    let key: YamlNode | null = null;
    let depth = 0;
    for (const seg of p) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
        if (!pair) break;
        key = pair.key as YamlNode;
        node = (pair.value as YamlNode | null) ?? null;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as YamlNode | undefined;
        if (item === undefined) break;
        key = null;
        node = item;
      } else {
        break;
      }
      depth++;
    }
    return { node, key, depth };
  }
}

/** Turns zod issues into ConfigIssues located in `src` (paths prefixed by `prefix`; `schema` is the one parsed). */
export function zodIssues(src: YamlSource, error: z.ZodError, prefix: readonly PathSeg[] = [], schema?: z.ZodType): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const zi of error.issues) {
    const p = [...prefix, ...(zi.path as PathSeg[])];
    if (zi.code === 'unrecognized_keys') {
      const allowed = schema ? keysAt(schema, zi.path as PathSeg[]) : null;
      const hint = allowed ? `; expected one of ${allowed.join(', ')}` : '';
      for (const k of zi.keys) out.push(src.issue([...p, k], `unknown key "${k}"${hint}`, true));
      continue;
    }
    if (zi.code === 'invalid_key') {
      const inner = zi.issues[0]?.message ?? 'not allowed here';
      out.push(src.issue(p, `invalid key "${String(p[p.length - 1])}": ${inner}`, true));
      continue;
    }
    // zod's own messages start with "Invalid ..."; ours (set in the schemas) already say what is expected.
    let message = zi.message;
    if (zi.code === 'invalid_type' && message.startsWith('Invalid')) message = `expected ${zi.expected}`;
    else if (zi.code === 'invalid_value' && message.startsWith('Invalid')) message = `expected one of ${zi.values.map((v) => JSON.stringify(v)).join(', ')}`;
    if ((zi.code === 'invalid_type' || zi.code === 'invalid_value') && !src.has(p)) message = `missing required key; ${message}`;
    out.push(src.issue(p, message));
  }
  return out;
}

/** The keys an object schema at `p` inside `schema` allows (for "unknown key" hints); null when not an object. */
function keysAt(schema: z.ZodType, p: readonly PathSeg[]): string[] | null {
  let cur: unknown = schema;
  const def = (x: unknown) => (x as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  const unwrap = () => {
    for (let d = def(cur); d && ['optional', 'nullable', 'default', 'prefault', 'pipe', 'readonly'].includes(d.type as string); d = def(cur)) {
      cur = d.type === 'pipe' ? d.in : d.innerType;
    }
  };
  for (const seg of p) {
    unwrap();
    const d = def(cur);
    if (d?.type === 'object') cur = (d.shape as Record<string, unknown>)[String(seg)];
    else if (d?.type === 'array') cur = d.element;
    else if (d?.type === 'record') cur = d.valueType;
    else return null;
  }
  unwrap();
  const d = def(cur);
  return d?.type === 'object' ? Object.keys(d.shape as Record<string, unknown>) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Daemon config

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

// ---------------------------------------------------------------------------------------------------------------
// Provisioning

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
  return buildProvisioning(sources, prov.defaults, prov.hosts);
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
  return buildProvisioning({ defaults: d!.file, vmSpecs: v!.file, installConfig: i!.file }, prov.defaults, prov.hosts);
}

function buildProvisioning(sources: Provisioning['sources'], defaults: DefaultsFile, hosts: HostSpec[]): Readonly<Provisioning> {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const byMac = new Map<string, HostSpec>();
  for (const h of hosts) {
    for (const m of hostMacs(h)) if (!byMac.has(m)) byMac.set(m, h);
  }
  deepFreeze(defaults);
  deepFreeze(hosts);
  const prov: Provisioning = {
    sources,
    defaults,
    hosts,
    hostByName: (name) => byName.get(name) ?? null,
    hostByMac: (mac) => {
      const m = normalizeMac(mac);
      return m === null ? null : (byMac.get(m) ?? null);
    },
  };
  return Object.freeze(prov);
}

/** Every MAC of a host: primary first, then netifs and baremetal.mac (deduplicated). */
function hostMacs(h: HostSpec): string[] {
  const all = [h.mac, h.baremetal?.mac ?? null, ...h.netifs.map((n) => n.mac)].filter((m): m is string => m !== null && m !== undefined);
  return [...new Set(all)];
}

interface Layered {
  defaults: DefaultsFile;
  hosts: HostSpec[];
}

/**
 * Schema checks per file, then cross-file checks on the entries that passed. Appends to `issues`. Returns null when
 * a file could not be read or parsed at all.
 */
function validateProvisioning(
  defSrc: YamlSource | null,
  vmSrc: YamlSource | null,
  instSrc: YamlSource | null,
  issues: ConfigIssue[],
): Layered | null {
  // 1. Whole-file schemas (all zod issues, including unknown top-level keys).
  let defaults: DefaultsFile | null = null;
  if (defSrc) {
    const r = defaultsFileSchema.safeParse(defSrc.data ?? {});
    if (r.success) defaults = r.data;
    else issues.push(...zodIssues(defSrc, r.error, [], defaultsFileSchema));
  }
  const vmEntries: Array<{ index: number; vm: VmSpec }> = [];
  const vmRawNames: Array<{ index: number; name: string }> = [];
  if (vmSrc) {
    const r = vmSpecsFileSchema.safeParse(vmSrc.data ?? {});
    if (!r.success) issues.push(...zodIssues(vmSrc, r.error, [], vmSpecsFileSchema));
    const raw = isPlainObject(vmSrc.data) && Array.isArray(vmSrc.data.vms) ? (vmSrc.data.vms as unknown[]) : [];
    raw.forEach((entry, index) => {
      if (isPlainObject(entry) && typeof entry.name === 'string') vmRawNames.push({ index, name: entry.name });
      const e = vmSpecSchema.safeParse(entry);
      if (e.success) vmEntries.push({ index, vm: e.data });
    });
  }
  const instEntries = new Map<string, InstallEntry>();
  const instRawNames: string[] = [];
  if (instSrc) {
    const r = installConfigFileSchema.safeParse(instSrc.data ?? {});
    if (!r.success) issues.push(...zodIssues(instSrc, r.error, [], installConfigFileSchema));
    const raw = isPlainObject(instSrc.data) && isPlainObject(instSrc.data.installs) ? instSrc.data.installs : {};
    for (const [name, entry] of Object.entries(raw)) {
      instRawNames.push(name);
      const e = installEntrySchema.safeParse(entry);
      if (e.success) instEntries.set(name, e.data);
    }
  }
  if (!defSrc || !vmSrc || !instSrc) return null;

  // 2. Names: unique, and VMs ↔ install entries one to one.
  const firstByName = new Map<string, number>();
  for (const { index, name } of vmRawNames) {
    const first = firstByName.get(name);
    if (first !== undefined) {
      issues.push(vmSrc.issue(['vms', index, 'name'], `duplicate VM name "${name}" (first used at vms[${first}], line ${vmSrc.position(['vms', first, 'name']).line}); expected unique names`));
    } else {
      firstByName.set(name, index);
    }
    if (!instRawNames.includes(name)) {
      issues.push(vmSrc.issue(['vms', index, 'name'], `VM "${name}" has no install entry; expected installs.${name} in ${instSrc.file}`));
    }
  }
  for (const name of instRawNames) {
    if (!firstByName.has(name)) {
      issues.push(instSrc.issue(['installs', name], `install entry "${name}" has no VM; expected a vms entry named "${name}" in ${vmSrc.file}`, true));
    }
  }

  // 3. Merge and check. VM-level checks run on every valid VM, install-level checks on every valid install entry
  //    that has a VM (with a stand-in when that VM entry is itself invalid), so one broken entry does not hide
  //    the problems of its partner. Checks that need defaults.yaml are skipped when it is invalid (reported).
  const d: DefaultsFile = defaults ?? { images: {} };
  const hosts: HostSpec[] = [];
  const macOwner = new Map<string, { host: string; where: string }>();
  const validVms = new Map<string, VmSpec>();
  for (const { index, vm } of vmEntries) {
    if (firstByName.get(vm.name) !== index) continue; // duplicate: already reported
    validVms.set(vm.name, vm);
    const host = mergeHost(vm, { os: 'custom' }, d);
    const at = (p: readonly PathSeg[], message: string) => issues.push(vmSrc.issue(['vms', index, ...p], message));
    if (vm.hypervisor === 'proxmox' && vm.baremetal !== undefined) at(['baremetal'], 'a baremetal block is only allowed with hypervisor: baremetal');
    if (vm.hypervisor === 'baremetal' && vm.proxmox !== undefined) at(['proxmox'], 'a proxmox block is only allowed with hypervisor: proxmox');
    if (defaults && vm.hypervisor === 'proxmox' && !host.proxmox?.node) {
      at(['proxmox', 'node'], 'missing proxmox.node (here or in defaults vm.proxmox); expected the Proxmox node name');
    }
    if (vm.boot_method === 'pxe' && vm.hypervisor === 'baremetal' && host.mac === null) {
      at(['baremetal', 'mac'], 'bare metal with boot_method: pxe needs a MAC; expected baremetal.mac (or netifs[0].mac)');
    }
    if (defaults && vm.boot_method === 'pxe' && vm.hypervisor === 'proxmox' && host.netifs.length === 0) {
      at(['netifs'], 'boot_method: pxe needs at least one network interface; expected netifs (here or in defaults vm.netifs)');
    }
    // MACs unique across hosts (one host may repeat its own MAC, e.g. baremetal.mac = netifs[0].mac).
    const macPaths: Array<[PathSeg[], string | undefined]> = [
      [['baremetal', 'mac'], vm.baremetal?.mac],
      ...(vm.netifs ?? []).map((n, j): [PathSeg[], string | undefined] => [['netifs', j, 'mac'], n.mac]),
    ];
    for (const [p, mac] of macPaths) {
      if (mac === undefined) continue;
      const owner = macOwner.get(mac);
      if (owner && owner.host !== vm.name) at(p, `duplicate MAC ${mac} (also used by "${owner.host}" at ${owner.where}); expected a MAC unique to one host`);
      else if (!owner) macOwner.set(mac, { host: vm.name, where: `vms[${index}].${formatPath(p)}` });
    }
  }
  for (const [name, inst] of instEntries) {
    if (!firstByName.has(name)) continue; // no VM: already reported
    const vm = validVms.get(name);
    const host = mergeHost(vm ?? { name, hypervisor: 'proxmox', boot_method: 'pxe' }, inst, d);
    checkInstall(host, inst, defaults, (p, message) => issues.push(locateInstall(instSrc, defSrc, name, p).issue(message)), defSrc.file);
    if (vm) hosts.push(host);
  }
  // Keep vm_specs order.
  const order = new Map(vmEntries.map(({ vm }, i) => [vm.name, i]));
  hosts.sort((x, y) => order.get(x.name)! - order.get(y.name)!);
  return defaults ? { defaults, hosts } : null;
}

function checkInstall(
  host: HostSpec,
  inst: InstallEntry,
  defaults: DefaultsFile | null,
  atInst: (p: readonly PathSeg[], message: string) => void,
  defaultsFile: string,
): void {
  const ins = host.install;
  if (ins.os === 'custom') {
    if (inst.custom === undefined) atInst(['custom'], 'os: custom needs a custom block; expected custom: {kernel, initrds, cmdline}');
  } else {
    if (inst.custom !== undefined) atInst(['custom'], `a custom block is only allowed with os: custom (os is ${ins.os})`);
    if (ins.version === null) atInst(['version'], `missing version; expected a ${ins.os} version from defaults images.${ins.os}`);
    else if (defaults && host.image === null) {
      const known = Object.keys(defaults.images[ins.os] ?? {});
      atInst(['version'], `no ${ins.os} "${ins.version}" in the image catalog (${defaultsFile} images.${ins.os}); expected one of ${known.length ? known.join(', ') : '(none defined)'}`);
    }
  }
  const net = ins.network;
  if (!net.dhcp && net.address_cidr === null) atInst(['network', 'address_cidr'], 'static network (dhcp: false) needs address_cidr; expected e.g. 192.0.2.10/24');
  if (net.dhcp && net.address_cidr !== null) atInst(['network', 'address_cidr'], 'address_cidr is only used with dhcp: false; expected dhcp: false or no address_cidr');
  const c = net.address_cidr !== null ? parseCidr(net.address_cidr) : null;
  if (c && net.gateway !== null && !ipInCidr(net.gateway, net.address_cidr!)) {
    atInst(['network', 'gateway'], `gateway ${net.gateway} is outside ${net.address_cidr}; expected an address in that subnet`);
  }
  if (c && c.prefix < 31) {
    const broadcast = (c.network | (~c.mask >>> 0)) >>> 0;
    if (c.address === formatIpv4(c.network) || c.address === formatIpv4(broadcast)) {
      atInst(['network', 'address_cidr'], `${net.address_cidr} is the network or broadcast address; expected a host address`);
    }
  }
  if (c && net.gateway !== null && net.gateway === c.address) {
    atInst(['network', 'gateway'], `gateway ${net.gateway} is the host's own address; expected another address in ${net.address_cidr}`);
  }
  // A hostname defaulted from the VM name was already checked there (as a host label).
  if (net.hostname !== host.name && !isHostname(net.hostname)) atInst(['network', 'hostname'], 'expected an RFC 1123 host name');
  else if (net.domain !== null && !isHostname(`${net.hostname}.${net.domain}`)) {
    atInst(['network', 'domain'], 'host name plus domain exceed 253 characters; expected a shorter FQDN');
  }
  const seenUsers = new Set<string>();
  ins.users.forEach((u, j) => {
    if (seenUsers.has(u.username)) atInst(['users', j, 'username'], `duplicate user "${u.username}"; expected unique user names`);
    seenUsers.add(u.username);
  });
}

/**
 * Where a problem with a merged install field is reported: in defaults.yaml `install:` when that layer gets closer
 * to the field than the install entry does (the value was inherited), else in the install entry.
 */
function locateInstall(instSrc: YamlSource, defSrc: YamlSource, name: string, p: readonly PathSeg[]) {
  const ip: PathSeg[] = ['installs', name, ...p];
  const dp: PathSeg[] = ['install', ...p];
  const fromDefaults = defSrc.depth(dp) - 1 > instSrc.depth(ip) - 2;
  return {
    issue: (message: string) => (fromDefaults ? defSrc.issue(dp, `${message} (inherited by installs.${name})`) : instSrc.issue(ip, message)),
  };
}

/** Applies the layers and the built-in defaults. Pure; the caller validates the result. */
export function mergeHost(vm: VmSpec, inst: InstallEntry, defaults: DefaultsFile): HostSpec {
  const dv = defaults.vm ?? {};
  const v = deepMerge<VmSpec>(
    { cpus: dv.cpus, memory_mb: dv.memory_mb, disks: dv.disks, netifs: dv.netifs, ...(vm.hypervisor === 'proxmox' ? { proxmox: dv.proxmox } : {}) },
    vm,
  );
  const i = deepMerge<InstallEntry>(defaults.install ?? {}, inst);
  const proxmox = vm.hypervisor === 'proxmox' ? (v.proxmox ?? {}) : null;
  const baremetal = vm.hypervisor === 'baremetal' ? (v.baremetal ?? {}) : null;
  const netifs = (v.netifs ?? []).map((n) => ({
    bridge: n.bridge ?? BUILTIN_VM.bridge,
    vlan: n.vlan ?? null,
    mac: n.mac ?? null,
    model: n.model ?? BUILTIN_VM.netif_model,
    mtu: n.mtu ?? null,
  }));
  const pxe = deepMerge<{ efi_binary?: 'snponly.efi' | 'ipxe.efi'; uefi_strategy?: 'binl' | 'direct'; boot_chain?: 'ipxe' | 'signed' }>(
    { efi_binary: defaults.pxe?.efi_binary, uefi_strategy: defaults.pxe?.uefi_strategy, boot_chain: defaults.pxe?.boot_chain },
    vm.pxe,
    inst.pxe,
  );
  const install: InstallSpec = {
    os: i.os,
    version: i.os === 'custom' ? null : (i.version ?? null),
    packages: i.packages ?? [],
    users: (i.users ?? []).map((u) => ({
      username: u.username,
      ssh_authorized_keys: u.ssh_authorized_keys ?? [],
      sudo: u.sudo ?? BUILTIN_INSTALL.sudo,
      shell: u.shell ?? BUILTIN_INSTALL.shell,
      password_hash: u.password_hash ?? null,
    })),
    network: {
      hostname: i.network?.hostname ?? vm.name,
      domain: i.network?.domain ?? null,
      dhcp: i.network?.dhcp ?? BUILTIN_INSTALL.dhcp,
      address_cidr: i.network?.address_cidr ?? null,
      gateway: i.network?.gateway ?? null,
      dns: i.network?.dns ?? [],
      interfaces: i.network?.interfaces ?? [],
    },
    docker: i.docker ?? BUILTIN_INSTALL.docker,
    nix_services: i.nix_services ?? [],
    partitioning: {
      // Ubuntu's default is Subiquity's LVM layout; NixOS's plain GPT ESP + root (the installer script's default).
      layout: i.partitioning?.layout ?? (i.os === 'nixos' ? 'direct' : BUILTIN_INSTALL.layout),
      disk: i.partitioning?.disk ?? null,
      swap_mb: i.partitioning?.swap_mb ?? null,
    },
    custom: i.os === 'custom' ? (i.custom ?? null) : null,
  };
  return {
    name: vm.name,
    hypervisor: vm.hypervisor,
    boot_method: vm.boot_method,
    cpus: v.cpus ?? BUILTIN_VM.cpus,
    memory_mb: v.memory_mb ?? BUILTIN_VM.memory_mb,
    disks: (v.disks ?? []).map((d) => ({ size_gb: d.size_gb, storage: d.storage ?? proxmox?.storage ?? null, type: d.type ?? BUILTIN_VM.disk_type })),
    netifs,
    proxmox,
    baremetal,
    mac: baremetal?.mac ?? netifs[0]?.mac ?? null,
    install_mode: inst.install_mode ?? vm.install_mode ?? defaults.pxe?.install_mode ?? null,
    pxe: { efi_binary: pxe.efi_binary ?? null, uefi_strategy: pxe.uefi_strategy ?? null, ...(pxe.boot_chain ? { boot_chain: pxe.boot_chain } : {}) },
    install,
    image: resolveImage(defaults, install),
  };
}

function resolveImage(defaults: DefaultsFile, install: InstallSpec): ImageEntry | null {
  if (install.version === null) return null;
  if (install.os === 'ubuntu') {
    const e = defaults.images.ubuntu?.[install.version];
    return e ? { os: 'ubuntu', version: install.version, iso_url: e.iso_url, kernel_url: e.kernel_url, initrd_url: e.initrd_url, codename: e.codename ?? null } : null;
  }
  if (install.os === 'nixos') {
    const e = defaults.images.nixos?.[install.version];
    return e ? { os: 'nixos', version: install.version, kernel_url: e.kernel_url, initrd_url: e.initrd_url, netboot_ipxe_url: e.netboot_ipxe_url } : null;
  }
  return null;
}
