import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatGate } from '../../src/boot/repeats.js';

void test('first event passes, repeats inside the window are counted and reported on the next one', () => {
  const g = new RepeatGate(1000);
  assert.deepEqual(g.admit('a', 0), { repeats: 0 });
  assert.equal(g.admit('a', 10), null);
  assert.equal(g.admit('a', 999), null);
  assert.deepEqual(g.admit('b', 20), { repeats: 0 }, 'other keys are independent');
  assert.deepEqual(g.admit('a', 1000), { repeats: 2 });
  assert.deepEqual(g.admit('a', 2500), { repeats: 0 });
});

void test('tracks at most `capacity` keys', () => {
  const g = new RepeatGate(1000, 2);
  g.admit('a', 0);
  g.admit('b', 0);
  g.admit('c', 0);
  assert.deepEqual(g.admit('a', 1), { repeats: 0 }, 'a was evicted, so it is admitted again');
});
