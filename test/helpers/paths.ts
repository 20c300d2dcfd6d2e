// Paths for tests. Tests run from the repository root (npm test); compiled files live under <outDir>/test/...
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json is). */
export const repoRoot = process.cwd();
/** The compiled tree this test runs from (dist/ by default), so `pxed` subprocesses use the same build. */
export const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled CLI entry point. */
export const cliMain = path.join(distRoot, 'src', 'cli', 'main.js');
export const fixtures = (...p: string[]): string => path.join(repoRoot, 'test', 'fixtures', ...p);
/** Git-ignored folders for cached downloads/builds and for failure artifacts. */
export const cacheDir = path.join(repoRoot, 'test', '.cache');
export const artifactsDir = path.join(repoRoot, 'test', 'artifacts');
