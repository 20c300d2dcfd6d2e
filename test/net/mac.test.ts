import { it } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError } from '../../src/errors.js';
import { MAC_PATTERN, parseMacOrThrow, parseMac } from '../../src/net/mac.js';

void it('normalises every accepted spelling to lower-case colon form', () => {
  for (const s of ['aa:bb:cc:0d:ee:ff', 'AA:BB:CC:0D:EE:FF', 'aa-bb-cc-0d-ee-ff', 'AABB.CC0D.EEFF', 'aabbcc0deeff', ' aa:bb:cc:0d:ee:ff\n']) {
    assert.equal(parseMac(s), 'aa:bb:cc:0d:ee:ff', s);
    assert.equal(parseMacOrThrow(s), 'aa:bb:cc:0d:ee:ff', s);
  }
});

void it('refuses everything else with MAC_INVALID', () => {
  const bad = ['', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:ff:00', 'aa:bb-cc:dd:ee:ff', 'a:b:c:d:e:f', 'aabb.ccdd.eeff.0011', 'aabbccddeef', 'zz:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:ff;', '../etc/passwd'];
  for (const s of bad) {
    assert.equal(parseMac(s), null, s);
    assert.throws(() => parseMacOrThrow(s), (e: unknown) => isPxedError(e, 'MAC_INVALID') && e.message.includes(JSON.stringify(s)), s);
  }
  assert.throws(() => parseMacOrThrow(42 as unknown as string), (e: unknown) => isPxedError(e, 'MAC_INVALID'));
});

void it('MAC_PATTERN (the published pattern) accepts exactly what parseMac accepts, once trimmed', () => {
  const inputs = ['aa:bb:cc:0d:ee:ff', 'AA-BB-CC-0D-EE-FF', 'AABB.CC0D.EEFF', 'aabbcc0deeff', 'aa:bb-cc:dd:ee:ff', 'aa:bb:cc:dd:ee', 'aabb.ccdd.eeff.0011', 'zz:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:ff;', ''];
  for (const s of inputs) assert.equal(MAC_PATTERN.test(s), parseMac(s) !== null, s);
});

void it('parseMac accepts colon, hyphen, Cisco-dot and bare forms in any case', () => {
  const want = '52:54:00:ab:cd:ef';
  for (const s of ['52:54:00:ab:cd:ef', '52:54:00:AB:CD:EF', '52-54-00-AB-CD-EF', '5254.00ab.cdef', '525400ABCDEF', ' 52:54:00:ab:cd:ef ']) {
    assert.equal(parseMac(s), want, s);
  }
});

void it('parseMac refuses malformed MACs', () => {
  for (const s of ['', '52:54:00:ab:cd', '52:54:00:ab:cd:ef:01', '52:54-00:ab:cd:ef', '52:54:00:zz:cd:ef', '5254.00ab.cde', '5:54:00:ab:cd:ef', '52.54.00.ab.cd.ef']) {
    assert.equal(parseMac(s), null, s);
  }
});
