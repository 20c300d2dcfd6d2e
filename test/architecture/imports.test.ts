// The import rule (docs/architecture.md), checked on the source: every module of src/ and what it imports.
//   - src/model and src/net are the shared vocabulary: they import only each other and src/errors.ts.
//   - src/dhcp, src/tftp and src/http import nothing from src/registry or src/config (each owns its port).
//   - src/tftp imports nothing from src/boot.
//   - src/registry and src/config import nothing from src/boot, src/http, src/dhcp or src/tftp.
// KNOWN lists violations that are being fixed on another branch; the test fails when an entry is no longer a
// violation, so the list only shrinks (empty it at the merge that fixes them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const SRC = path.join(repoRoot, 'src');

/** `from` → `to` (both src-relative paths without extension), one line each. */
const KNOWN: readonly string[] = [];

interface Rule {
  from: string;
  forbidden: (to: string) => boolean;
  why: string;
}

const top = (p: string): string => p.split('/')[0]!;
const isModule = (to: string, ...dirs: string[]): boolean => dirs.includes(top(to));

const RULES: readonly Rule[] = [
  { from: 'model', forbidden: (to) => !isModule(to, 'model', 'net') && to !== 'errors', why: 'model is a leaf' },
  { from: 'net', forbidden: (to) => !isModule(to, 'model', 'net') && to !== 'errors', why: 'net is a leaf' },
  { from: 'dhcp', forbidden: (to) => isModule(to, 'registry', 'config'), why: 'dhcp owns its ports' },
  { from: 'tftp', forbidden: (to) => isModule(to, 'registry', 'config', 'boot'), why: 'tftp owns its ports' },
  { from: 'http', forbidden: (to) => isModule(to, 'registry', 'config'), why: 'http owns its ports' },
  { from: 'registry', forbidden: (to) => isModule(to, 'boot', 'http', 'dhcp', 'tftp'), why: 'registry is below the protocols' },
  { from: 'config', forbidden: (to) => isModule(to, 'boot', 'http', 'dhcp', 'tftp'), why: 'config is below the protocols' },
];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every relative import/export specifier of a file (static, type-only and dynamic). */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) {
    const s = m[1] ?? m[2] ?? m[3];
    if (s !== undefined && s.startsWith('.')) out.push(s);
  }
  return out;
}

/** The import graph of src/: "from -> to" edges between src-relative module paths. */
function edges(): string[] {
  const out = new Set<string>();
  for (const file of sources(SRC)) {
    const from = path.relative(SRC, file).replace(/\.ts$/, '').split(path.sep).join('/');
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const abs = path.resolve(path.dirname(file), spec);
      const to = path.relative(SRC, abs).replace(/\.js$/, '').split(path.sep).join('/');
      if (to.startsWith('..')) continue;
      out.add(`${from} -> ${to}`);
    }
  }
  return [...out].sort();
}

void test('the parser sees every import form', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    "export { c } from './c.js';",
    "export type { D } from './d.js';",
    'import {\n  e,\n  f,\n} from "./ef.js";',
    "const g = await import('./g.js');",
    "import './side.js';",
    "import x from 'node:fs';",
  ].join('\n');
  assert.deepEqual(specifiers(text), ['./a.js', '../b/b.js', './c.js', './d.js', './ef.js', './g.js', './side.js']);
});

void test('src/ follows the import rule', () => {
  const all = edges();
  assert.ok(all.length > 100, `read ${all.length} edges`);
  const violations: string[] = [];
  for (const edge of all) {
    const [from, to] = edge.split(' -> ') as [string, string];
    for (const rule of RULES) {
      if (top(from) === rule.from && rule.forbidden(to)) violations.push(edge);
    }
  }
  const unexpected = violations.filter((v) => !KNOWN.includes(v));
  assert.deepEqual(unexpected, [], `imports against the rule (docs/architecture.md):\n${unexpected.join('\n')}`);
  const fixed = KNOWN.filter((k) => !violations.includes(k));
  assert.deepEqual(fixed, [], `KNOWN entries that are no longer violations: remove them from test/architecture/imports.test.ts`);
});
