// Where the CLI looks for the daemon config when none is given: ./configs/pxed.yaml (a checkout), else the one
// `pxed service install` writes, /etc/pxed/pxed.yaml.

import { existsSync } from 'node:fs';
import path from 'node:path';

export const SYSTEM_CONFIG = '/etc/pxed/pxed.yaml';

/** The default daemon config for a command run in `cwd`, or null when neither file exists. */
export function findDaemonConfig(cwd: string, system: string = SYSTEM_CONFIG): string | null {
  const local = path.join(cwd, 'configs', 'pxed.yaml');
  if (existsSync(local)) return local;
  return existsSync(system) ? system : null;
}
