// Comments may cite documents only if they are in the repository: `docs/protocol.md §6.5` needs docs/protocol.md
// with a heading numbered 6.5, a quirk id (`Q14`) needs its row in docs/protocol.md §8, and a bare name
// (`README.md`) must name a file that exists. Citations of files outside the repository (../shared/…) fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const ROOT = repoRoot;
const SCANNED = ['src', 'test', 'bench', 'scripts'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'fixtures', '.cache', 'artifacts']);
const EXTS = new Set(['.ts', '.js', '.c', '.sh', '.py']);

/**
 * Files of other branches still citing documents outside the repository (issue 12). Each entry must still fail the
 * check: once its citations are fixed the entry has to go, so this list can only shrink.
 */
const PENDING: Record<string, string> = {};

function walk(dir: string, out: string[]): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (EXTS.has(path.extname(e.name))) out.push(p);
  }
  return out;
}

/** The comment text of a line (// and block comments for C-like files, # for shell and Python). */
export function commentOf(line: string, ext: string): string | null {
  if (ext === '.sh' || ext === '.py') {
    const m = /(?:^|\s)#(?!!)(.*)$/.exec(line);
    return m ? m[1]! : null;
  }
  const slash = /(?:^|\s)\/\/(.*)$/.exec(line);
  if (slash) return slash[1]!;
  const block = /^\s*(?:\/\*+|\*)(?!\/)(.*)$/.exec(line);
  return block ? block[1]! : null;
}

const headingsCache = new Map<string, Set<string>>();
function headings(file: string): Set<string> {
  let h = headingsCache.get(file);
  if (!h) {
    h = new Set();
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^#+\s+([0-9A-Z]+(?:\.[0-9]+)*)\.?\s/.exec(line);
      if (m) h.add(m[1]!);
    }
    headingsCache.set(file, h);
  }
  return h;
}

const quirks = (): Set<string> => new Set([...fs.readFileSync(path.join(ROOT, 'docs/protocol.md'), 'utf8').matchAll(/^\| (Q\d+) \|/gm)].map((m) => m[1]!));

/** Where a cited document lives in the repository, or null. */
function resolveDoc(cited: string): string | null {
  if (cited.startsWith('../') || cited.includes('shared/')) return null;
  if (cited.includes('/')) {
    const p = path.join(ROOT, cited);
    return fs.existsSync(p) ? p : null;
  }
  for (const dir of ['docs', '.']) {
    const p = path.join(ROOT, dir, cited);
    if (fs.existsSync(p)) return p;
  }
  return findByName(cited);
}

function findByName(name: string): string | null {
  const stack = [ROOT];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (SKIP_DIRS.has(e.name) || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name === name) return p;
    }
  }
  return null;
}

/** Problems with the citations in one comment. */
export function checkComment(text: string, knownQuirks: Set<string>): string[] {
  const problems: string[] = [];
  if (/\bgotcha \d+/i.test(text)) problems.push('cites a "gotcha" of a document that is not in the repository');
  for (const m of text.matchAll(/\b(Q\d{1,2})\b/g)) if (!knownQuirks.has(m[1]!)) problems.push(`quirk ${m[1]} is not in docs/protocol.md §8`);
  const docs = [...text.matchAll(/([\w./-]*[\w-]\.md)\b/g)];
  docs.forEach((m, i) => {
    const file = resolveDoc(m[1]!);
    if (file === null) {
      problems.push(`${m[1]} is not in the repository`);
      return;
    }
    // Sections after this document's name, up to the next document or RFC mentioned.
    const start = m.index + m[0].length;
    const rest = text.slice(start, i + 1 < docs.length ? docs[i + 1]!.index : undefined).split(/\bRFC\b/)[0]!;
    for (const s of rest.matchAll(/§\s?([0-9A-Z]+(?:\.[0-9]+)*)(?:\s*[-/]\s*([0-9]+(?:\.[0-9]+)*))?/g)) {
      for (const sec of [s[1], s[2]]) {
        if (sec !== undefined && !headings(file).has(sec)) problems.push(`${m[1]} has no section ${sec}`);
      }
    }
  });
  return problems;
}

void test('the checker itself: missing documents, sections and quirks are found', () => {
  const q = quirks();
  assert.deepEqual(checkComment('see docs/protocol.md §6.5 and Q14', q), []);
  assert.equal(checkComment('see docs/protocol.md §42', q).length, 1);
  assert.equal(checkComment('see ../shared/docs/protocol.md §6', q).length, 1);
  assert.equal(checkComment('see netboot-lab.md gotcha 1', q).length, 2);
  assert.equal(checkComment('quirk Q99', q).length, 1);
  assert.deepEqual(checkComment('docs/protocol.md §7, RFC 2131 §4.3', q), []);
});

void test('every comment cites only documents, sections and quirks that exist in the repository', () => {
  const q = quirks();
  const found: string[] = [];
  const failing = new Set<string>();
  for (const dir of SCANNED) {
    if (!fs.existsSync(path.join(ROOT, dir))) continue;
    for (const file of walk(path.join(ROOT, dir), [])) {
      const rel = path.relative(ROOT, file);
      if (rel === 'test/docs/citations.test.ts') continue;
      const ext = path.extname(file);
      fs.readFileSync(file, 'utf8').split('\n').forEach((line, n) => {
        const c = commentOf(line, ext);
        if (c === null) return;
        for (const p of checkComment(c, q)) {
          failing.add(rel);
          if (!(rel in PENDING)) found.push(`${rel}:${n + 1}: ${p}`);
        }
      });
    }
  }
  assert.deepEqual(found, []);
  for (const rel of Object.keys(PENDING)) assert.ok(failing.has(rel), `${rel} is fixed: remove it from PENDING`);
});
