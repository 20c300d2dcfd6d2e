import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError } from '../../src/errors.js';
import { grubAssetPath, grubKernelArg, grubWord, renderGrubChain, renderGrubInstall, renderGrubLocalBoot, renderGrubRefusal, unsafeGrubReason } from '../../src/boot/grub.js';

void test('grubWord: single-quotes so GRUB metacharacters stay literal', () => {
  assert.equal(grubWord('console=ttyS0,115200', 'arg'), "'console=ttyS0,115200'");
  assert.equal(grubWord('ds=nocloud;s=http://10.0.0.2:8080/n/t/', 'arg'), "'ds=nocloud;s=http://10.0.0.2:8080/n/t/'");
  assert.equal(grubWord('${prefix}', 'arg'), "'${prefix}'");
  assert.equal(grubWord('a|b&c<d>e{f}#g', 'arg'), "'a|b&c<d>e{f}#g'");
  // A single quote closes, is escaped, and reopens: GRUB reads it as one word a'b.
  assert.equal(grubWord("a'b", 'arg'), "'a'\\''b'");
  assert.equal(grubWord("'", 'arg'), "''\\'''");
  assert.equal(grubWord('back\\slash', 'arg'), "'back\\slash'");
});

void test('grubWord: hostile values are refused with BOOT_SCRIPT_INVALID naming the field', () => {
  const hostile: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a\nlinux /evil', /line break/],
    ['a\rb', /line break/],
    ["x'\nboot", /line break/],
    ['a\x00b', /control/],
    ['a\x1bb', /control/],
    ['a\tb', /control/],
    ['a b', /whitespace/],
    ['caf\u00e9', /non-ASCII/],
    ['\u2028', /non-ASCII/],
    ['init="/bin/sh"', /double quote/],
    ['init="/bin/sh -c x"', /whitespace/],
    ['x'.repeat(4097), /longer/],
  ];
  for (const [value, why] of hostile) {
    assert.ok(unsafeGrubReason(value) !== null, JSON.stringify(value));
    assert.throws(
      () => grubWord(value, 'kernel argument 3'),
      (err: unknown) => isPxedError(err, 'BOOT_SCRIPT_INVALID') && why.test(err.message) && err.details?.field === 'kernel argument 3',
      JSON.stringify(value),
    );
  }
});

void test('grubWord: random printable input either round-trips as one quoted word or is refused', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 2000; i++) {
    const s = Array.from({ length: 1 + rnd(20) }, () => String.fromCharCode(rnd(130))).join('');
    let w: string;
    try {
      w = grubWord(s, 'fuzz');
    } catch (err) {
      assert.ok(isPxedError(err, 'BOOT_SCRIPT_INVALID'));
      continue;
    }
    // Undo GRUB's quoting: '...' segments and \' escapes; the result must be the input, with no line breaks.
    assert.ok(!/[\r\n]/.test(w));
    const parts = w.match(/'[^']*'|\\'/g) ?? [];
    assert.equal(parts.join(''), w);
    assert.equal(parts.map((p) => (p === "\\'" ? "'" : p.slice(1, -1))).join(''), s);
  }
});

void test('grubKernelArg: key="w1 w2" becomes the word key=w1 w2 (GRUB re-quotes it for the kernel); plain args as grubWord', () => {
  assert.equal(grubKernelArg('console=ttyS0,115200', 'arg'), "'console=ttyS0,115200'");
  assert.equal(grubKernelArg('ds=nocloud;s=http://10.0.0.2/n/$t/', 'arg'), "'ds=nocloud;s=http://10.0.0.2/n/$t/'");
  assert.equal(grubKernelArg('systemd.run="/bin/systemctl start a.target"', 'arg'), "'systemd.run=/bin/systemctl start a.target'");
  assert.equal(grubKernelArg('k="${x};{y}|z"', 'arg'), "'k=${x};{y}|z'");
});

void test('grubKernelArg: hostile or unrepresentable arguments are refused with BOOT_SCRIPT_INVALID naming the field', () => {
  const hostile: Array<[string, RegExp]> = [
    ['', /empty/],
    ["a'b", /' or \\/],
    ['a\\b', /' or \\/],
    ['k="a \'b"', /' or \\/],
    ['k="a\\ b"', /' or \\/],
    ['k="a  b"', /empty/],
    ['k=" a"', /empty/],
    ['k=""', /empty/],
    ['k="a\tb"', /control/],
    ['k="a\nlinux /evil"', /line break/],
    ['k="a"b"', /double quote/],
    ['"a b"', /whitespace/],
    ['k="a b', /whitespace/],
    ['k="caf\u00e9 x"', /non-ASCII/],
    ['a b', /whitespace/],
  ];
  for (const [value, why] of hostile) {
    assert.throws(
      () => grubKernelArg(value, 'kernel argument 2'),
      (err: unknown) => isPxedError(err, 'BOOT_SCRIPT_INVALID') && why.test(err.message) && err.details?.field === 'kernel argument 2',
      JSON.stringify(value),
    );
  }
});

void test('grubKernelArg: random input either refused or one GRUB word holding the argument without its quotes', () => {
  let seed = 11;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = 'ab=" \'\\$;{}|#\t\n\u00e9';
  for (let i = 0; i < 3000; i++) {
    const s = Array.from({ length: 1 + rnd(12) }, () => alphabet[rnd(alphabet.length)]!).join('');
    let w: string;
    try {
      w = grubKernelArg(s, 'fuzz');
    } catch (err) {
      assert.ok(isPxedError(err, 'BOOT_SCRIPT_INVALID'));
      continue;
    }
    // One single-quoted word with nothing GRUB's loader would escape and no line break; its text is the argument
    // with the quotes of key="..." taken out.
    assert.match(w, /^'[^'\\"\r\n]+'$/);
    const m = /^([^"\s]+)="([^"]*)"$/.exec(s);
    assert.equal(w.slice(1, -1), m === null ? s : `${m[1]}=${m[2]}`);
  }
});

void test('grubAssetPath: asset paths under pxed/assets; URLs and .. refused', () => {
  assert.equal(grubAssetPath('lab/vmlinuz', 'kernel'), "'/pxed/assets/lab/vmlinuz'");
  assert.equal(grubAssetPath('/lab/initrd.img', 'initrd 1'), "'/pxed/assets/lab/initrd.img'");
  for (const bad of ['http://10.0.0.1/vmlinuz', 'tftp:x', '../etc/shadow', 'a/../../b', 'a b']) {
    assert.throws(() => grubAssetPath(bad, 'kernel'), (err: unknown) => isPxedError(err, 'BOOT_SCRIPT_INVALID'), bad);
  }
});

void test('grubAssetPath: URLs of pxed’s own /assets/ become paths; hostile ones are still refused', () => {
  const own = 'http://10.77.0.2:8080';
  assert.equal(grubAssetPath(`${own}/assets/ubuntu/24.04/casper/vmlinuz`, 'kernel', own), "'/pxed/assets/ubuntu/24.04/casper/vmlinuz'");
  assert.equal(grubAssetPath(`${own}/assets/a%27b/x`, 'kernel', own), "'/pxed/assets/a'\\''b/x'");
  const hostile = [
    `${own}/assets/%2e%2e/%2e%2e/etc/shadow`,
    `${own}/assets/a/..%2F..%2Fb`,
    `${own}/assets/x%0Aboot`,
    `${own}/assets/x%20y`,
    `${own}/assets/%E0%A4%A`,
    'http://10.77.0.3:8080/assets/vmlinuz',
    `${own}/other/vmlinuz`,
  ];
  for (const bad of hostile) {
    assert.throws(() => grubAssetPath(bad, 'kernel', own), (err: unknown) => isPxedError(err, 'BOOT_SCRIPT_INVALID'), bad);
  }
});

void test('renderGrubInstall: the whole config', () => {
  const cfg = renderGrubInstall({
    mac: '52:54:00:77:00:10',
    hostname: 'lab1',
    os: 'custom',
    bootId: 'b-123',
    kernel: 'lab/vmlinuz',
    initrds: ['lab/initrd.img', 'lab/extra.img'],
    args: ['console=ttyS0', 'pxed.phone_home=http://10.77.0.2:8080/api/v1/boot/TOKEN/events', 'systemd.run="/bin/echo a b"'],
  });
  assert.equal(
    cfg,
    [
      '# pxed install: 52:54:00:77:00:10, boot b-123',
      'set timeout=0',
      "echo 'pxed:_installing_custom_on_lab1_(52:54:00:77:00:10)'",
      "linux '/pxed/assets/lab/vmlinuz' 'console=ttyS0' 'pxed.phone_home=http://10.77.0.2:8080/api/v1/boot/TOKEN/events' 'systemd.run=/bin/echo a b'",
      "initrd '/pxed/assets/lab/initrd.img' '/pxed/assets/lab/extra.img'",
      'boot',
      "echo 'pxed: loading or starting the kernel failed (signature refused?)'",
      'sleep 10',
      'exit',
      '',
    ].join('\n'),
  );
});

void test('chain, local-boot and refusal configs; hostile echo text is neutralised, never thrown', () => {
  assert.match(renderGrubChain(), /^configfile "\$\{prefix\}\/grub\.cfg-01-\$\{net_default_mac\}"$/m);
  assert.equal(renderGrubLocalBoot('52:54:00:77:00:10', 'lab1'), "echo 'pxed:_lab1_(52:54:00:77:00:10)_is_installed;_booting_from_disk'\nexit\n".replace(';', '?'));
  const r = renderGrubRefusal('52:54:00:77:00:10', "bad 'host'\n; reboot $x");
  assert.equal(r.split('\n').length, 4);
  assert.match(r, /^echo 'pxed:_52:54:00:77:00:10:_bad_\?host\?_\?_reboot_\?x'$/m);
});
