// The per-host Ansible workdir: build/<host>/ansible/{inventory.yaml,vars.yaml}. Both are JSON (a subset of
// YAML) serialised from objects, never templated, mode 0600 (they name users and keys), and replaced atomically
// (written next to the target, then renamed) so a reader never sees half a file.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PxedError } from '../../errors.js';
import { assertNoJinja, type PostInstallVars } from './vars.js';

/** How Ansible reaches the host. `chroot` is for tests (a debootstrap root) and image builds. */
export type Connection =
  | {
      kind: 'ssh';
      /** IPv4 address or DNS name of the installed machine. */
      address: string;
      user: string;
      /** Path of the private key on the daemon's machine. */
      privateKeyFile?: string;
      /** ansible_defaults.ssh_common_args, passed through to ssh as Ansible splits it. */
      sshCommonArgs?: string;
      pythonInterpreter?: string;
    }
  | { kind: 'chroot'; root: string; pythonInterpreter?: string };

export interface AnsibleWorkdir {
  dir: string;
  inventory: string;
  vars: string;
}

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const ADDRESS = /^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$/;
const POSIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The inventory object: one host in group `all`, its connection variables only. */
export function inventoryObject(host: string, conn: Connection): Record<string, unknown> {
  if (!HOST_LABEL.test(host)) throw new PxedError('ORCH_ANSIBLE_INVALID', `host name ${JSON.stringify(host)} is not an RFC 1123 label`);
  const hv: Record<string, unknown> = {};
  if (conn.kind === 'ssh') {
    if (!ADDRESS.test(conn.address)) throw new PxedError('ORCH_ANSIBLE_INVALID', `host ${host}: address ${JSON.stringify(conn.address)} is not an IP address or DNS name`);
    if (!POSIX_USER.test(conn.user)) throw new PxedError('ORCH_ANSIBLE_INVALID', `host ${host}: ${JSON.stringify(conn.user)} is not a POSIX user name`);
    hv.ansible_connection = 'ssh';
    hv.ansible_host = conn.address;
    hv.ansible_user = conn.user;
    if (conn.privateKeyFile !== undefined) hv.ansible_ssh_private_key_file = conn.privateKeyFile;
    if (conn.sshCommonArgs !== undefined) hv.ansible_ssh_common_args = conn.sshCommonArgs;
  } else {
    if (!path.isAbsolute(conn.root)) throw new PxedError('ORCH_ANSIBLE_INVALID', `host ${host}: chroot root must be an absolute path`);
    hv.ansible_connection = 'chroot';
    hv.ansible_host = conn.root;
  }
  if (conn.pythonInterpreter !== undefined) hv.ansible_python_interpreter = conn.pythonInterpreter;
  else hv.ansible_python_interpreter = 'auto_silent';
  assertNoJinja(hv, `host ${host} inventory`);
  return { all: { hosts: { [host]: hv } } };
}

function writePrivate(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * Writes inventory.yaml and vars.yaml into `dir` (build/<host>/ansible). Everything is validated first, so a
 * refused value leaves the previous files as they were.
 */
export function writeAnsibleWorkdir(dir: string, host: string, conn: Connection, vars: PostInstallVars): AnsibleWorkdir {
  const inv = inventoryObject(host, conn);
  assertNoJinja(vars, `host ${host}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out = { dir, inventory: path.join(dir, 'inventory.yaml'), vars: path.join(dir, 'vars.yaml') };
  writePrivate(out.inventory, inv);
  writePrivate(out.vars, vars);
  return out;
}
