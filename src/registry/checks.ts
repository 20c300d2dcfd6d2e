// The registry's errors and the argument checks that raise them: REGISTRY_INVALID for a bad argument,
// REGISTRY_NOT_FOUND for an unknown MAC, REGISTRY_IO for whatever SQLite itself fails with.

import { PxedError } from '../errors.js';
import { isInstallMode, type InstallMode } from '../model/machine.js';

export function invalid(message: string, details?: Record<string, unknown>): PxedError {
  return new PxedError('REGISTRY_INVALID', message, details);
}

export function notFound(mac: string): PxedError {
  return new PxedError('REGISTRY_NOT_FOUND', `no machine with MAC ${mac}`, { mac });
}

/** Any failure that is not already a PxedError (SQLITE_BUSY, SQLITE_IOERR, a closed handle) becomes REGISTRY_IO. */
export function asRegistryError(err: unknown, doing: string): PxedError {
  if (err instanceof PxedError) return err;
  const code = (err as { code?: unknown }).code;
  const msg = err instanceof Error ? err.message : String(err);
  return new PxedError('REGISTRY_IO', `registry ${doing} failed: ${msg}`, typeof code === 'string' ? { sqlite: code } : undefined, {
    cause: err,
  });
}

/** The JSON text of a column that holds an object (overrides, event detail). */
export function toJson(value: unknown, what: string): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${what} must be an object`);
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw invalid(`${what} is not serialisable as JSON: ${(err as Error).message}`);
  }
}

/** LIMIT argument: -1 is "no limit" in SQLite. */
export function limitOf(limit: number | undefined): number {
  if (limit === undefined) return -1;
  if (!Number.isInteger(limit) || limit < 0) throw invalid(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

export function afterOf(afterId: number | undefined): number {
  if (afterId === undefined) return 0;
  if (!Number.isInteger(afterId) || afterId < 0) throw invalid(`afterId must be a non-negative integer, got ${afterId}`);
  return afterId;
}

export function checkInstallMode(mode: string): InstallMode {
  if (!isInstallMode(mode)) throw invalid(`installMode must be once or always, got ${mode}`);
  return mode;
}
