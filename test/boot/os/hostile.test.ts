// Hostile install entries: every value either is rejected (config validation: CONFIG_INVALID; pxed's own host
// checks: ARTIFACT_INVALID) or lands in the artifacts so that parsing them gives back exactly the input:
// user-data through PyYAML (what cloud-init and Subiquity use), host.json through JSON and Nix (builtins.fromJSON
// in configuration.nix, evaluated), install.sh variables through sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { isPxedError } from '../../../src/errors.js';
import { parseProvisioning } from '../../../src/config/load.js';
import type { HostSpec } from '../../../src/config/provisioning.js';
import { createNixosProfile, createUbuntuProfile, loadNixosTemplates } from '../../../src/boot/os/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { ctxFor, variant } from './helpers.js';
import { nixEvalConfig, shHeaderValues, shellChecks } from './nixtools.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICt0ZvimLKo7lC8WSoeglYL6UkQh+DEALiRL2N/Hrnvq';

export const HOSTILE = [
  `it's "quoted"`,
  'back\\slash\\\\',
  '${HOME}',
  "''${x}",
  '$(reboot)',
  '`id`',
  'a: b',
  'a:b',
  '# not a comment',
  'x#y',
  '&anchor',
  '*alias',
  '- dash',
  '-dash',
  '!tag',
  '!!str',
  '%directive',
  '@at',
  '|',
  '>',
  '{a: 1}',
  '[1, 2]',
  'line\nbreak',
  'cr\rlf',
  'tab\there',
  'ünïcødé☃日本',
  'yes',
  'on',
  '~',
  '=',
  '<<',
  '0755',
  '1:20',
  '52:54:00:12:34:01',
  ' leading',
  'trailing ',
  '\\u0041\\n',
  '\u2028sep',
  '\u0085nel',
  '\u009fc1',
  '\ufeffbom',
];

const texts = (f: string) => readFileSync(path.join(repoRoot, 'configs', f), 'utf8');
const DEFAULTS = texts('defaults.yaml');
const VMS = texts('vm_specs.yaml');

/** The shipped provisioning with installs.<host> replaced by `entry`. */
function provisioningWith(host: string, entry: Obj): HostSpec {
  const installs = YAML.parse(texts('install_config.yaml')) as { installs: Record<string, Obj> };
  installs.installs[host] = entry;
  const prov = parseProvisioning({
    defaults: ['defaults.yaml', DEFAULTS],
    vmSpecs: ['vm_specs.yaml', VMS],
    installConfig: ['install_config.yaml', YAML.stringify(installs)],
  });
  return prov.hostByName(host)!;
}

const UBUNTU_BASE = { os: 'ubuntu', version: '24.04' };
const NIXOS_BASE = { os: 'nixos', version: '25.05' };
const user = (over: Obj) => ({ username: 'ops', sudo: true, shell: '/bin/bash', ssh_authorized_keys: [KEY], ...over });

/**
 * Per field: the install entry carrying hostile values, and the key-path pattern of value i in config issues.
 * List fields take all values in one entry (one config parse reports every rejected index at once).
 */
const FIELDS: Record<string, { entry: (vs: string[]) => Obj; path: RegExp; list: boolean }> = {
  password_hash: { entry: (vs) => ({ users: vs.map((v, i) => user({ username: `u${i}`, password_hash: `$6$salt$${v}` })) }), path: /users\[(\d+)\]/, list: true },
  key_comment: { entry: (vs) => ({ users: vs.map((v, i) => user({ username: `u${i}`, ssh_authorized_keys: [`${KEY} ${v}`] })) }), path: /users\[(\d+)\]/, list: true },
  shell: { entry: (vs) => ({ users: vs.map((v, i) => user({ username: `u${i}`, shell: `/bin/${v}` })) }), path: /users\[(\d+)\]/, list: true },
  username: { entry: (vs) => ({ users: vs.map((v) => user({ username: v })) }), path: /users\[(\d+)\]/, list: true },
  packages: { entry: (vs) => ({ packages: vs }), path: /packages\[(\d+)\]/, list: true },
  nix_services: { entry: (vs) => ({ nix_services: vs }), path: /nix_services\[(\d+)\]/, list: true },
  interfaces: { entry: (vs) => ({ network: { interfaces: vs } }), path: /interfaces\[(\d+)\]/, list: true },
  disk: { entry: ([v]) => ({ partitioning: { layout: 'direct', disk: `/dev/${v!}` } }), path: /partitioning\.disk/, list: false },
  hostname: { entry: ([v]) => ({ network: { hostname: v } }), path: /network\.hostname/, list: false },
  domain: { entry: ([v]) => ({ network: { domain: v } }), path: /network\.domain/, list: false },
};

type Issue = { file: string; line: number; col: number; path: string };

function issuesOf(hostName: string, entry: Obj): Issue[] {
  try {
    provisioningWith(hostName, entry);
    return [];
  } catch (err) {
    assert.ok(isPxedError(err, 'CONFIG_INVALID'), `unexpected error ${String(err)}`);
    return err.details?.issues as Issue[];
  }
}

interface Accepted {
  values: string[];
  rejected: number;
  /** One parsed host per accepted value (list fields: the value in position 0, cloned from one parse). */
  hosts: HostSpec[];
}

const memo = new Map<string, Accepted>();

/** Which corpus values config validation accepts for `field`; every rejection names file:line:col and the key path. */
function accepted(base: Obj, field: string): Accepted {
  const key = `${String(base.os)}/${field}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const f = FIELDS[field]!;
  const hostName = base === UBUNTU_BASE ? 'web-01' : 'ci-runner-01';
  const values: string[] = [];
  const hosts: HostSpec[] = [];
  let rejected = 0;
  const checkIssue = (i: Issue) => {
    assert.equal(i.file, 'install_config.yaml');
    assert.ok(i.line > 0 && i.col > 0, JSON.stringify(i));
    assert.match(i.path, new RegExp(`^installs\\.${hostName}\\.`), JSON.stringify(i));
  };
  if (f.list) {
    const bad = new Set<number>();
    for (const i of issuesOf(hostName, { ...base, ...f.entry(HOSTILE) })) {
      checkIssue(i);
      const m = f.path.exec(i.path);
      assert.ok(m, `issue outside the field: ${JSON.stringify(i)}`);
      bad.add(Number(m[1]));
    }
    HOSTILE.forEach((v, i) => (bad.has(i) ? rejected++ : values.push(v)));
    if (values.length > 0) {
      const host = provisioningWith(hostName, { ...base, ...f.entry(values) });
      for (let i = 0; i < values.length; i++) {
        hosts.push(
          variant(host, (h) => {
            if (field === 'packages') h.install.packages = [h.install.packages[i]!];
            else if (field === 'nix_services') h.install.nix_services = [h.install.nix_services[i]!];
            else if (field === 'interfaces') h.install.network.interfaces = [h.install.network.interfaces[i]!];
            else h.install.users = [h.install.users[i]!];
          }),
        );
      }
    }
  } else {
    for (const v of HOSTILE) {
      const issues = issuesOf(hostName, { ...base, ...f.entry([v]) });
      if (issues.length === 0) {
        values.push(v);
        hosts.push(provisioningWith(hostName, { ...base, ...f.entry([v]) }));
      } else {
        rejected++;
        issues.forEach(checkIssue);
        assert.ok(issues.some((i) => f.path.test(i.path)), JSON.stringify(issues));
      }
    }
  }
  const out = { values, rejected, hosts };
  memo.set(key, out);
  return out;
}

function pyYamlParse(docs: string[]): unknown[] {
  const script = 'import json,sys,yaml\nprint(json.dumps([yaml.safe_load(d) for d in json.load(sys.stdin)]))';
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(docs), encoding: 'utf8', timeout: 30_000 })) as unknown[];
}

void test('strict fields reject every hostile value with file:line:col and key path (plain words like "yes" pass)', () => {
  for (const field of ['username', 'hostname', 'domain', 'packages', 'interfaces']) {
    const { values, rejected } = accepted(UBUNTU_BASE, field);
    for (const v of values) assert.match(v, /^[A-Za-z0-9:_.-]+$/, `${field}: ${JSON.stringify(v)}`);
    assert.ok(rejected >= HOSTILE.length - 8, `${field}: ${JSON.stringify(values)}`);
  }
});

void test('Ubuntu user-data: accepted hostile values mean exactly the input under PyYAML; the rest is refused', () => {
  const ubuntu = createUbuntuProfile();
  const docs: string[] = [];
  const expectations: Array<(doc: Obj) => void> = [];
  const counts: Record<string, { rendered: number; refused: number }> = {};
  for (const field of ['password_hash', 'key_comment', 'shell', 'disk', 'username', 'packages']) {
    counts[field] = { rendered: 0, refused: 0 };
    for (const host of accepted(UBUNTU_BASE, field).hosts) {
      let body: string;
      try {
        body = String(ubuntu.renderArtifact('nocloud', 'user-data', host, ctxFor(host))!.body);
      } catch (err) {
        assert.ok(isPxedError(err, 'ARTIFACT_INVALID'), String(err));
        assert.match(String(err.details?.field), /^install\./);
        counts[field].refused++;
        continue;
      }
      counts[field].rendered++;
      assert.ok(body.startsWith('#cloud-config\n'));
      docs.push(body);
      const u = host.install.users[0]!;
      expectations.push((doc) => {
        const ai = doc.autoinstall as Obj;
        if (field === 'disk') return assert.equal(ai.storage.layout.match.path, host.install.partitioning.disk);
        if (field === 'packages') return assert.deepEqual(ai.packages, host.install.packages);
        if (field === 'username') return assert.equal((ai['user-data'] as Obj).users[0].name, u.username);
        if (ai.identity !== undefined) {
          assert.equal(ai.identity.password, u.password_hash);
          assert.deepEqual(ai.ssh['authorized-keys'], u.ssh_authorized_keys);
        } else {
          const t = (ai['user-data'] as Obj).users[0] as Obj;
          assert.equal(t.shell, u.shell);
          assert.deepEqual(t.ssh_authorized_keys, u.ssh_authorized_keys);
          assert.equal(t.hashed_passwd, u.password_hash ?? undefined);
        }
      });
    }
  }
  const parsed = pyYamlParse(docs);
  parsed.forEach((doc, i) => expectations[i]!(doc as Obj));
  // The corpus must actually exercise the renderers, and line breaks in keys must be refused.
  assert.ok(counts.password_hash!.rendered >= 20, JSON.stringify(counts));
  assert.ok(counts.key_comment!.rendered >= 20 && counts.key_comment!.refused >= 2, JSON.stringify(counts));
  assert.ok(counts.shell!.rendered >= 20, JSON.stringify(counts));
  assert.ok(counts.disk!.refused >= 20, JSON.stringify(counts));
  assert.equal(counts.username!.rendered, 2, JSON.stringify(counts)); // "yes" and "on": quoted for YAML 1.1
});

void test('NixOS host.json / configuration.nix / install.sh: accepted hostile values round-trip through JSON, Nix and sh', () => {
  const p = createNixosProfile({ netboot: new Map(), templates: loadNixosTemplates() });
  // One host carrying every accepted value as its own user (one Nix evaluation for the whole corpus).
  // Values with control characters or line separators are refused by pxed (asserted in the Ubuntu test).
  const clean = (v: string) => !CONTROL.test(v);
  const hashes = accepted(NIXOS_BASE, 'password_hash').values.filter(clean).map((v) => `$6$salt$${v}`);
  const comments = accepted(NIXOS_BASE, 'key_comment').values.filter(clean);
  const shells = accepted(NIXOS_BASE, 'shell').values.filter(clean).map((v) => `/bin/${v}`);
  assert.deepEqual(accepted(NIXOS_BASE, 'password_hash').values, accepted(UBUNTU_BASE, 'password_hash').values);
  const services = accepted(NIXOS_BASE, 'nix_services').values;
  const n = Math.max(hashes.length, comments.length, shells.length);
  const users = Array.from({ length: n }, (_, i) =>
    user({
      username: `u${i}`,
      password_hash: hashes[i % hashes.length],
      ssh_authorized_keys: [`${KEY} ${comments[i % comments.length]!}`],
      shell: shells[i % shells.length],
    }),
  );
  const host = provisioningWith('ci-runner-01', { ...NIXOS_BASE, users, nix_services: services });
  const ctx = ctxFor(host);
  const hostJson = String(p.renderArtifact('nixos', 'host.json', host, ctx)!.body);
  const data = JSON.parse(hostJson) as Obj;
  assert.deepEqual(
    data.users,
    host.install.users.map((u) => ({ name: u.username, sudo: u.sudo, shell: u.shell, hashedPassword: u.password_hash, keys: u.ssh_authorized_keys })),
  );
  const out = nixEvalConfig(String(p.renderArtifact('nixos', 'configuration.nix', host, ctx)!.body), hostJson, { efi: true, disk: '/dev/vda' });
  const main = out.config[0] as Obj;
  for (const u of host.install.users) {
    const nu = main.users.users[u.username] as Obj;
    assert.equal(nu.hashedPassword, u.password_hash, u.username);
    assert.deepEqual(nu.openssh.authorizedKeys.keys, u.ssh_authorized_keys, u.username);
  }
  assert.deepEqual(
    out.config.slice(1).map((s) => Object.keys((s as Obj).services as Obj)[0]),
    services.map((s) => s.split('.')[0]),
  );
  assert.ok(hashes.length >= 20 && comments.length >= 20 && shells.length >= 20, `${hashes.length} ${comments.length} ${shells.length}`);

  // install.sh: every disk path the config accepts is either refused by pxed or read back exactly by sh.
  let shRendered = 0;
  const disks = accepted(NIXOS_BASE, 'disk').hosts;
  for (const v of ['sda', 'disk/by-id/nvme-eui.0025_38b5:81b1+4e2f']) {
    disks.push(variant(disks[0]!, (h) => (h.install.partitioning.disk = `/dev/${v}`)));
  }
  for (const h of disks) {
    let script: string;
    try {
      script = String(p.renderArtifact('nixos', 'install.sh', h, ctxFor(h))!.body);
    } catch (err) {
      assert.ok(isPxedError(err, 'ARTIFACT_INVALID') && err.details?.field === 'install.partitioning.disk', String(err));
      continue;
    }
    shRendered++;
    assert.deepEqual(shHeaderValues(script, ['PXED_DISK', 'PXED_HOST']), [h.install.partitioning.disk, 'ci-runner-01']);
    shellChecks(script);
  }
  assert.ok(shRendered >= 2);
});
