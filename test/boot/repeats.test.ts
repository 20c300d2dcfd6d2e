import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatGate } from '../../src/boot/repeats.js';

void test('first event passes, repeats inside the window are counted and reported on the next one', () => {
  const g = new RepeatGate(1000);
  assert.deepEqual(g.admit('a', 'x', 0), { repeats: 0 });
  assert.equal(g.admit('a', 'x', 10), null);
  assert.equal(g.admit('a', 'x', 999), null);
  assert.deepEqual(g.admit('b', 'x', 20), { repeats: 0 }, 'other keys are independent');
  assert.deepEqual(g.admit('a', 'y', 30), { repeats: 0 }, 'other kinds of the same key are independent');
  assert.equal(g.admit('a', 'y', 40), null);
  assert.deepEqual(g.admit('a', 'x', 1000), { repeats: 2 });
  assert.deepEqual(g.admit('a', 'y', 1030), { repeats: 1 });
  assert.deepEqual(g.admit('a', 'x', 2500), { repeats: 0 });
});

void test('tracks at most `capacity` keys', () => {
  const g = new RepeatGate(1000, 2);
  g.admit('a', 'x', 0);
  g.admit('b', 'x', 0);
  g.admit('c', 'x', 0);
  assert.deepEqual(g.admit('a', 'x', 1), { repeats: 0 }, 'a was evicted, so it is admitted again');
  assert.equal(g.admit('c', 'x', 2), null, 'c is still tracked');
});
