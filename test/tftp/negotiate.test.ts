import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { negotiate } from '../../src/tftp/negotiate.js';

const limits = { maxBlksize: 1468, maxWindowsize: 32 };
const opts = (...pairs: Array<[string, string]>): Array<{ name: string; value: string }> => pairs.map(([name, value]) => ({ name, value }));

void describe('negotiate', () => {
  void it('no options: no OACK, 512-byte lock-step', () => {
    const n = negotiate([], 1000, limits);
    assert.deepEqual([n.oack, n.blksize, n.windowsize], [[], 512, 1]);
  });
  void it('EDK2 probe: only the requested options, exact tsize, windowsize granted (docs/protocol.md Q5, Q6)', () => {
    const n = negotiate(opts(['tsize', '0'], ['blksize', '1468'], ['windowsize', '4']), 173792, limits);
    assert.deepEqual(n.oack, opts(['tsize', '173792'], ['blksize', '1468'], ['windowsize', '4']));
    assert.equal(n.tsizeAsked, true);
  });
  void it('caps blksize and windowsize, never raises them', () => {
    const table: Array<[string, string, string | null]> = [
      ['blksize', '65464', '1468'],
      ['blksize', '99999', '1468'],
      ['blksize', '1432', '1432'],
      ['blksize', '8', '8'],
      ['blksize', '7', null],
      ['blksize', 'abc', null],
      ['windowsize', '64', '32'],
      ['windowsize', '0', null],
      ['timeout', '3', '3'],
      ['timeout', '0', null],
      ['timeout', '256', null],
      ['multicast', '', null],
    ];
    for (const [name, value, want] of table) {
      const n = negotiate(opts([name, value]), 10, limits);
      assert.deepEqual(n.oack, want === null ? [] : opts([name, want]), `${name}=${value}`);
    }
  });
  void it('option names are case-insensitive and keep their case in the OACK; first duplicate wins', () => {
    const n = negotiate(opts(['BLKSIZE', '1024'], ['blksize', '512'], ['TSize', '0']), 5, limits);
    assert.deepEqual(n.oack, opts(['BLKSIZE', '1024'], ['TSize', '5']));
    assert.equal(n.blksize, 1024);
    assert.deepEqual(n.accepted, { blksize: '1024', tsize: '5' });
  });
});
