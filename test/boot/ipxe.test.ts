import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError } from '../../src/errors.js';
import { encodePath, imageName, ipxeArg, ipxeEchoText, ipxeHostname, ipxeKernelArg, ipxeQuotedArg, ipxeScript, ipxeUrl, splitKernelArgs, unsafeArgReason } from '../../src/boot/ipxe.js';

/** Values that must never reach a script unchanged: each would change what the script means. */
const HOSTILE: readonly string[] = [
  'a\nkernel http://evil/x',
  'a\r\nboot',
  'console=ttyS0\n#!ipxe',
  '${net0/mac}',
  'x=${root_path}',
  'x=$ {a}',
  'x=$',
  'x="quoted value"',
  "x='single'",
  'a b',
  'a\tb',
  'a||b',
  '||',
  'a&&reboot',
  '&&',
  '#comment',
  'a#b',
  'x=\\n',
  'x=`id`',
  'hôst',
  'x=\u00a0y',
  'x=\u2028y',
  'naïve=1',
  'x=\u0000',
  'x=\u001b[31m',
  '',
];

void test('ipxeArg refuses every hostile value with BOOT_SCRIPT_INVALID naming the field', () => {
  for (const v of HOSTILE) {
    assert.throws(
      () => ipxeArg(v, 'kernel argument #1'),
      (err: unknown) => isPxedError(err, 'BOOT_SCRIPT_INVALID') && err.details?.field === 'kernel argument #1' && err.details.value === v,
      `accepted ${JSON.stringify(v)}`,
    );
  }
});

void test('ipxeArg keeps ordinary kernel arguments byte for byte', () => {
  for (const v of [
    'console=ttyS0,115200',
    'ip=dhcp',
    'ds=nocloud;s=http://10.77.0.2:8080/nocloud/abc_DEF-123/',
    '---',
    'init=/nix/store/abc-nixos-system/init',
    'url=http://10.0.0.1/a.iso?x=1&y=2',
    'quiet',
    'rd.break=pre-mount',
    'root=UUID=0a1b-2c3d',
    'a{b}c',
    'x=100%',
  ]) {
    assert.equal(ipxeArg(v, 'arg'), v);
    assert.equal(unsafeArgReason(v), null);
  }
});

void test('ipxeUrl accepts absolute http(s) URLs and refuses the rest', () => {
  for (const u of ['http://10.77.0.2:8080/assets/lab/vmlinuz', 'https://example.org/a/b%20c?x=1&y=2', 'http://[fd00::2]:8080/x']) {
    assert.equal(ipxeUrl(u, 'url'), u);
  }
  for (const u of [
    ...HOSTILE,
    'ftp://10.0.0.1/x',
    '/assets/x',
    'http://10.0.0.1/a b',
    'http://10.0.0.1/${x}',
    'http://10.0.0.1/x#frag',
    'http://10.0.0.1/%zz',
    'http://user@host/x',
    'http://10.0.0.1/a\nchain http://evil/',
    'http://10.0.0.1/ä',
  ]) {
    assert.throws(() => ipxeUrl(u, 'url'), (e: unknown) => isPxedError(e, 'BOOT_SCRIPT_INVALID'), `accepted ${JSON.stringify(u)}`);
  }
});

void test('ipxeHostname accepts RFC 1123 names only', () => {
  assert.equal(ipxeHostname('lab1.example.org'), 'lab1.example.org');
  for (const h of ['-bad', 'a b', 'a\nb', '${x}', 'ümlaut', 'a..b', 'x'.repeat(64)]) {
    assert.throws(() => ipxeHostname(h), (e: unknown) => isPxedError(e, 'BOOT_SCRIPT_INVALID'));
  }
});

void test('ipxeEchoText neutralises everything iPXE would interpret, and never throws', () => {
  for (const v of HOSTILE) {
    const out = ipxeEchoText(v);
    assert.equal(unsafeOrEmpty(out), true, `${JSON.stringify(v)} -> ${JSON.stringify(out)}`);
  }
  assert.equal(ipxeEchoText('machine 52:54:00:77:00:10 (lab1)'), 'machine 52:54:00:77:00:10 (lab1)');
  assert.equal(ipxeEchoText('a\n${x} || reboot'), 'a ??x? ?? reboot');
  assert.equal(ipxeEchoText('x'.repeat(500)).length, 200);
});

/** An echo text is safe when it has no line break, `$`, quote, backslash, backtick, `#`, `||`/`&&` or non-ASCII. */
function unsafeOrEmpty(s: string): boolean {
  return !/[\r\n$"'\\`#]|\|\||&&|[^\x20-\x7e]/.test(s);
}

void test('encodePath percent-encodes each segment; imageName is what iPXE calls the image', () => {
  assert.equal(encodePath('ubuntu/24.04/vmlinuz'), 'ubuntu/24.04/vmlinuz');
  assert.equal(encodePath('a b/c$d/e#f/(x)'), 'a%20b/c%24d/e%23f/%28x%29');
  assert.equal(imageName('http://10.0.0.1/assets/lab/initrd.gz'), 'initrd.gz');
  assert.equal(imageName('http://10.0.0.1/x/initrd?v=2'), 'initrd');
  assert.equal(imageName('lab/initrd%2Dx.gz'), 'initrd-x.gz');
});

void test('ipxeScript refuses a line with a line break', () => {
  assert.equal(ipxeScript(['echo hi']), '#!ipxe\necho hi\n');
  assert.throws(() => ipxeScript(['echo a\nboot']), (e: unknown) => isPxedError(e, 'BOOT_SCRIPT_INVALID'));
});

void test('ipxeQuotedArg builds key="w1 w2" from safe words; ipxeKernelArg and splitKernelArgs read it back; hostile input is refused', () => {
  const v = ipxeQuotedArg('systemd.run', ['/bin/curl', '-o', '/run/x', 'http://192.0.2.1:8080/a'], 'f');
  assert.equal(v, 'systemd.run="/bin/curl -o /run/x http://192.0.2.1:8080/a"');
  assert.equal(ipxeKernelArg(v, 'f'), v);
  assert.deepEqual(splitKernelArgs(`init=/x ${v} quiet`), ['init=/x', v, 'quiet']);
  const refused = (f: () => unknown): void => assert.throws(f, (e: unknown) => isPxedError(e, 'BOOT_SCRIPT_INVALID'));
  for (const w of ['a$b', 'a"b', "a'b", 'a\\b', 'a`b', '', 'a b', 'a\tb', '#x', 'x||y', 'é']) refused(() => ipxeQuotedArg('k', ['ok', w], 'f'));
  for (const k of ['', 'a b', 'a"', '-x', 'k=v']) refused(() => ipxeQuotedArg(k, ['ok'], 'f'));
  refused(() => ipxeQuotedArg('k', [], 'f'));
  // As they could come from a cmdline: double spaces, stray or unbalanced quotes, a quoted part without a key.
  for (const a of ['k="a  b"', 'k="a b', 'k="a" b"', '"a b"', 'k="a $b"', 'k=""', 'k="a"x']) refused(() => ipxeKernelArg(a, 'f'));
  assert.deepEqual(splitKernelArgs('a k="b c'), ['a', 'k="b c']);
});
