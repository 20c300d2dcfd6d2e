// src/boot/tokens.ts's minting: tokens come from a pool of random bytes filled 128 tokens at a time; across
// refills every token is well-formed and none repeats.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken, isTokenShaped, mintToken } from '../../src/boot/tokens.js';

void describe('mintToken', () => {
  void it('gives 43-character base64url tokens (256 bits), all different across several pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const t = mintToken();
      assert.match(t, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(isTokenShaped(t));
      assert.equal(Buffer.from(t, 'base64url').length, 32);
      seen.add(t);
    }
    assert.equal(seen.size, 1000);
  });

  void it('never hands out an all-zero token (a byte is zeroed only after it was used)', () => {
    const zero = Buffer.alloc(32).toString('base64url');
    for (let i = 0; i < 300; i++) assert.notEqual(mintToken(), zero);
    assert.equal(hashToken(zero).length, 64);
  });
});
