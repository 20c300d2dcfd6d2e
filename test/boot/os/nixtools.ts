// Runs the real tools the NixOS artifacts are checked with: nix-instantiate (parse, stub eval), sh -n, shellcheck.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixtures } from '../../helpers/paths.js';

const quiet = { encoding: 'utf8' as const, stdio: ['pipe', 'pipe', 'pipe'] as ['pipe', 'pipe', 'pipe'], timeout: 30_000 };

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-os-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** nix-instantiate --parse; throws with nix's message on a syntax error. */
export function nixParse(source: string): void {
  withTmp((dir) => {
    const f = path.join(dir, 'x.nix');
    writeFileSync(f, source);
    execFileSync('nix-instantiate', ['--parse', f], quiet);
  });
}

/** Evaluates configuration.nix against host.json with the stub lib/pkgs; returns {imports, config: [..merged..]}. */
export function nixEvalConfig(configurationNix: string, hostJson: string, install: { efi: boolean; disk: string | null }): { config: Array<Record<string, unknown>> } {
  return withTmp((dir) => {
    writeFileSync(path.join(dir, 'configuration.nix'), configurationNix);
    writeFileSync(path.join(dir, 'host.json'), hostJson);
    writeFileSync(path.join(dir, 'pxed-install.json'), JSON.stringify(install));
    writeFileSync(path.join(dir, 'hardware-configuration.nix'), '{ }\n');
    copyFileSync(fixtures('os', 'nix', 'eval-config.nix'), path.join(dir, 'eval-config.nix'));
    const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', path.join(dir, 'eval-config.nix')], quiet);
    return JSON.parse(out) as { config: Array<Record<string, unknown>> };
  });
}

/** `sh -n` then `shellcheck -s sh`; throws with their output on any finding. */
export function shellChecks(script: string): void {
  withTmp((dir) => {
    const f = path.join(dir, 'install.sh');
    writeFileSync(f, script);
    execFileSync('sh', ['-n', f], quiet);
    execFileSync('shellcheck', ['-s', 'sh', '-S', 'style', f], quiet);
  });
}

/** Runs the variable header of install.sh (up to the static part) and prints the PXED_* values, NUL-separated. */
export function shHeaderValues(script: string, names: readonly string[]): string[] {
  const header = script.split('\n# ---- static part')[0]!;
  const print = names.map((n) => `printf '%s\\0' "$${n}"`).join('\n');
  const out = execFileSync('sh', ['-c', `${header}\n${print}`], quiet);
  return out.split('\0').slice(0, -1);
}
