// Extracting one file from an ISO 9660 image with xorriso (Debian package `xorriso`):
//   xorriso -osirrox on -indev <iso> -extract /<member> <dest>
// `-osirrox on` enables copying from the image to disk; xorriso exits non-zero when the member is missing (its
// default -return_with SORRY). The result must be a regular file: a Rock Ridge symlink in a hostile image is refused.

import { execFile } from 'node:child_process';
import { chmod, lstat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PxedError } from '../errors.js';

export const XORRISO = 'xorriso';

const fail = (message: string, details: Record<string, unknown>): PxedError => new PxedError('ASSET_EXTRACT', message, details);

/**
 * Writes `member` (a path inside the ISO, like casper/vmlinuz) of `iso` to `dest` (replaced), at most `maxBytes`.
 * Throws ASSET_EXTRACT (nothing left at `dest`) when xorriso is missing or fails, or the member is not a regular file.
 */
export async function extractFromIso(iso: string, member: string, dest: string, maxBytes: number, signal?: AbortSignal): Promise<void> {
  if (!/^[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/.test(member) || member.split('/').some((s) => s === '..' || s === '.')) {
    throw fail(`bad ISO member ${JSON.stringify(member)}`, { member });
  }
  await unlink(dest).catch(() => undefined);
  const args = ['-osirrox', 'on', '-indev', path.resolve(iso), '-extract', `/${member}`, path.resolve(dest)];
  const cleanup = async (): Promise<void> => {
    await unlink(dest).catch(() => undefined);
  };
  await new Promise<void>((resolve, reject) => {
    execFile(XORRISO, args, { timeout: 300_000, maxBuffer: 1024 * 1024, ...(signal ? { signal } : {}) }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'xorriso is not installed (apt install xorriso)'
          : (String(stderr).split('\n').filter((l) => /FAILURE|SORRY|Cannot|not found/i.test(l)).slice(-2).join('; ') || err.message);
      reject(fail(`cannot extract /${member} from ${iso}: ${why}`, { iso, member }));
    });
  }).catch(async (err: unknown) => {
    await cleanup();
    throw err;
  });
  const st = await lstat(dest).catch(() => null);
  if (st === null || !st.isFile()) {
    await cleanup();
    throw fail(`/${member} in ${iso} is not a regular file`, { iso, member });
  }
  if (st.size > maxBytes) {
    await cleanup();
    throw fail(`/${member} in ${iso} is ${st.size} bytes, more than ${maxBytes}`, { iso, member });
  }
  // The image's permission bits (often 0444) are not what an asset root needs.
  await chmod(dest, 0o644);
}
