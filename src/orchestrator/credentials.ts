// Proxmox credentials, only ever from the environment: bpg's own variables (PROXMOX_VE_API_TOKEN,
// PROXMOX_VE_ENDPOINT) or the original framework's (PM_API_TOKEN_ID + PM_API_TOKEN_SECRET, endpoint from
// proxmox_provider.pm_api_url). Children get them in their environment; logs, events and the summary get them
// redacted.

import { PxedError } from '../errors.js';

export interface ProxmoxEnv {
  /** Variables added to Terraform's environment. */
  env: Record<string, string>;
  /** Values to redact wherever output is printed or stored. */
  secrets: string[];
  /** Where they came from, for messages (names only). */
  source: string;
}

export function proxmoxEnv(env: Readonly<Record<string, string | undefined>>, endpointFromConfig: string | null): ProxmoxEnv {
  const endpoint = env.PROXMOX_VE_ENDPOINT || endpointFromConfig;
  let token = env.PROXMOX_VE_API_TOKEN;
  let source = 'PROXMOX_VE_API_TOKEN';
  if (!token && env.PM_API_TOKEN_ID && env.PM_API_TOKEN_SECRET) {
    token = `${env.PM_API_TOKEN_ID}=${env.PM_API_TOKEN_SECRET}`;
    source = 'PM_API_TOKEN_ID + PM_API_TOKEN_SECRET';
  }
  if (!token) {
    throw new PxedError(
      'CONFIG_INVALID',
      'no Proxmox API token: set PROXMOX_VE_API_TOKEN (user@realm!id=secret) or PM_API_TOKEN_ID and PM_API_TOKEN_SECRET',
    );
  }
  if (!endpoint) {
    throw new PxedError('CONFIG_INVALID', 'no Proxmox endpoint: set PROXMOX_VE_ENDPOINT or proxmox_provider.pm_api_url / proxmox.endpoint in defaults.yaml');
  }
  const secret = token.includes('=') ? token.slice(token.indexOf('=') + 1) : token;
  return {
    env: { PROXMOX_VE_API_TOKEN: token, PROXMOX_VE_ENDPOINT: endpoint },
    secrets: [token, secret, env.PM_API_TOKEN_SECRET ?? ''].filter((s) => s.length >= 4),
    source,
  };
}

const SECRET_NAMES = /^(PROXMOX_VE_API_TOKEN|PROXMOX_VE_PASSWORD|PM_API_TOKEN_SECRET|PM_PASS|PXED_TOKEN|.*_SECRET|.*_PASSWORD)$/;

/** Every secret value in `env` by variable name, plus `extra`. */
export function secretValues(env: Readonly<Record<string, string | undefined>>, extra: readonly string[] = []): string[] {
  const vals = Object.entries(env)
    .filter(([k, v]) => SECRET_NAMES.test(k) && typeof v === 'string' && v.length >= 4)
    .map(([, v]) => v!);
  return [...new Set([...vals, ...extra])].sort((a, b) => b.length - a.length);
}

/** Replaces each secret (longest first) with "***", and any PVEAPIToken=… header value. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const list = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const s of list) out = out.split(s).join('***');
    return out.replace(/PVEAPIToken=\S+/g, 'PVEAPIToken=***');
  };
}
