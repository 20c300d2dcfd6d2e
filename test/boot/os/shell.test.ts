import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shAssign, shCommand, shQuote } from '../../../src/boot/os/shell.js';
import { isPxedError } from '../../../src/errors.js';

export const SH_HOSTILE = [
  'plain',
  '',
  "it's",
  '"double" quotes',
  'back\\slash \\\\ \\n',
  '${HOME} ${x:-y}',
  '$(touch /tmp/pxed-pwned) `id`',
  "'; reboot; '",
  'a\nb\r\nc\t',
  '-n',
  '--',
  '*',
  '~root',
  '#comment',
  '&& || ; | > < !',
  'ünïcødé ☃ 日本',
  "'''",
  '\\',
  ' ',
];

void test('shQuote: sh reads back exactly the input, for every hostile string', () => {
  const lines = SH_HOSTILE.map((v, i) => `${shAssign(`v${i}`, v)}; printf '%s\\0' "$v${i}"`).join('\n');
  const out = execFileSync('sh', ['-c', lines], { encoding: 'utf8' });
  assert.deepEqual(out.split('\0').slice(0, -1), SH_HOSTILE);
  // Also as separate words of one command line.
  const words = execFileSync('sh', ['-c', `printf '%s\\0' ${shCommand(SH_HOSTILE)}`], { encoding: 'utf8' });
  assert.deepEqual(words.split('\0').slice(0, -1), SH_HOSTILE);
});

void test('shQuote: safe words stay bare, others are single-quoted', () => {
  assert.equal(shQuote('http://192.0.2.1:8080/nixos/abc/'), 'http://192.0.2.1:8080/nixos/abc/');
  assert.equal(shQuote("it's"), `'it'\\''s'`);
  assert.equal(shQuote(''), `''`);
});

void test('shQuote: NUL is refused with ARTIFACT_INVALID naming the field', () => {
  assert.throws(
    () => shQuote('a\0b', 'install.partitioning.disk'),
    (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID') && e.details?.field === 'install.partitioning.disk',
  );
});
