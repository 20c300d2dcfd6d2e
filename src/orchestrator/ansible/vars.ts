// The inputs of pxed's playbooks, built as plain objects from the merged host entry. Ansible templates every string
// it reads from a vars file, so a value from the config that contains Jinja markers would run as a template on the
// controller: such values are refused here, before anything is written (one check for every string, any depth).
import { PxedError } from '../../errors.js';
import type { HostSpec } from '../../config/provisioning.js';

/** Jinja's statement, expression and comment openers (Ansible's default delimiters). */
const JINJA_MARKERS = ['{{', '{%', '{#'] as const;

/** Throws ORCH_ANSIBLE_UNSAFE naming the first string (by key path) that Ansible would template. */
export function assertNoJinja(value: unknown, where = 'vars'): void {
  if (typeof value === 'string') {
    const m = JINJA_MARKERS.find((j) => value.includes(j));
    if (m !== undefined) {
      throw new PxedError('ORCH_ANSIBLE_UNSAFE', `${where}: "${m}" is not allowed in values passed to Ansible (it would be run as a Jinja template)`, { where, marker: m });
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoJinja(v, `${where}[${i}]`));
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      assertNoJinja(k, `${where} key`);
      assertNoJinja(v, `${where}.${k}`);
    }
  }
}

export interface PostInstallUser {
  username: string;
  ssh_authorized_keys: string[];
  sudo: boolean;
  shell: string;
  /** crypt(3) hash, or "" for a locked password (key login only). */
  password_hash: string;
}

/** vars.yaml: what ansible/playbooks/*.yml read (documented in ansible/README.md). */
export interface PostInstallVars {
  pxed_hostname: string;
  /** "" when the entry has no domain. */
  pxed_domain: string;
  pxed_os: 'ubuntu' | 'nixos' | 'custom';
  pxed_version: string;
  pxed_timezone: string;
  pxed_ntp_servers: string[];
  pxed_users: PostInstallUser[];
  pxed_packages: string[];
  pxed_docker: boolean;
  pxed_nix_services: string[];
}

export interface SiteSettings {
  /** IANA zone name, e.g. Etc/UTC or Europe/Berlin. */
  timezone: string;
  /** NTP pools or servers for chrony. */
  ntpServers: string[];
}

export const DEFAULT_SITE: Readonly<SiteSettings> = Object.freeze({ timezone: 'Etc/UTC', ntpServers: ['pool.ntp.org'] });

const TIMEZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;
const NTP_SERVER = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** The playbooks' variables for one host. Throws ORCH_ANSIBLE_UNSAFE / ORCH_ANSIBLE_INVALID on bad input. */
export function postInstallVars(host: HostSpec, site: SiteSettings = DEFAULT_SITE): PostInstallVars {
  if (!TIMEZONE.test(site.timezone) || site.timezone.includes('..')) {
    throw new PxedError('ORCH_ANSIBLE_INVALID', `timezone ${JSON.stringify(site.timezone)}: expected an IANA zone name like Europe/Berlin`);
  }
  for (const s of site.ntpServers) {
    if (!NTP_SERVER.test(s)) throw new PxedError('ORCH_ANSIBLE_INVALID', `NTP server ${JSON.stringify(s)}: expected a host name or IPv4 address`);
  }
  const inst = host.install;
  const [short, ...rest] = inst.network.hostname.split('.');
  const vars: PostInstallVars = {
    pxed_hostname: short!,
    pxed_domain: inst.network.domain ?? rest.join('.'),
    pxed_os: inst.os,
    pxed_version: inst.version ?? '',
    pxed_timezone: site.timezone,
    pxed_ntp_servers: [...site.ntpServers],
    pxed_users: inst.users.map((u) => ({
      username: u.username,
      ssh_authorized_keys: [...u.ssh_authorized_keys],
      sudo: u.sudo,
      shell: u.shell,
      password_hash: u.password_hash ?? '',
    })),
    pxed_packages: [...inst.packages],
    pxed_docker: inst.docker,
    pxed_nix_services: [...inst.nix_services],
  };
  assertNoJinja(vars, `host ${host.name}`);
  return vars;
}
