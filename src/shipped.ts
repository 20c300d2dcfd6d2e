// Where the folders shipped beside the code live (templates/, ansible/): found from the running module, so the same
// lookup works from src/ under tsx, from dist/src/ and from an installed package.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shipped folder `name`: the nearest `<ancestor>/<name>` of this module that contains `marker` (a path inside
 * it), else `<working directory>/<name>`.
 */
export function shippedDir(name: string, marker: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, name, marker))) return path.join(dir, name);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return path.join(process.cwd(), name);
}
