import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError } from '../../src/errors.js';
import {
  assertTransition,
  canTransition,
  isMachineState,
  isStalled,
  nextStates,
  REINSTALLABLE_STATES,
  WATCHED_STATES,
} from '../../src/model/machine.js';
import { MACHINE_STATES, type MachineState } from '../../src/model/machine.js';

// The legal transitions, written out independently of the implementation's table. Every other pair is illegal.
const LEGAL = new Set([
  'discovered>registered',
  'registered>registered',
  'registered>booting',
  'booting>registered',
  'booting>booting',
  'booting>installing',
  'booting>installed',
  'booting>failed',
  'booting>stalled',
  'installing>registered',
  'installing>booting',
  'installing>installing',
  'installing>installed',
  'installing>failed',
  'installing>stalled',
  'installed>registered',
  'installed>booting',
  'installed>configured',
  'installed>post-installing',
  'post-installing>configured',
  'post-installing>failed',
  'post-installing>registered',
  'post-installing>booting',
  'configured>registered',
  'configured>booting',
  'configured>post-installing',
  'failed>registered',
  'stalled>registered',
  'stalled>booting',
  'stalled>installing',
  'stalled>installed',
  'stalled>failed',
]);

void describe('lifecycle table', () => {
  void it('covers every (from, to) pair', () => {
    let legal = 0;
    let illegal = 0;
    for (const from of MACHINE_STATES) {
      for (const to of MACHINE_STATES) {
        const want = LEGAL.has(`${from}>${to}`);
        assert.equal(canTransition(from, to), want, `${from} -> ${to}`);
        if (want) {
          legal++;
          assert.doesNotThrow(() => assertTransition(from, to, 'aa:bb:cc:dd:ee:ff'));
        } else {
          illegal++;
          assert.throws(
            () => assertTransition(from, to, 'aa:bb:cc:dd:ee:ff'),
            (err: unknown) =>
              isPxedError(err, 'LIFECYCLE_ILLEGAL') &&
              err.details?.from === from &&
              err.details.to === to &&
              err.details.mac === 'aa:bb:cc:dd:ee:ff',
            `${from} -> ${to} must throw LIFECYCLE_ILLEGAL`,
          );
        }
      }
    }
    assert.equal(legal, LEGAL.size);
    assert.equal(legal + illegal, MACHINE_STATES.length ** 2);
  });

  void it('nextStates agrees with canTransition', () => {
    for (const from of MACHINE_STATES) {
      assert.deepEqual(
        [...nextStates(from)].sort(),
        MACHINE_STATES.filter((to) => canTransition(from, to)).sort(),
      );
    }
  });

  void it('never returns to discovered, and reinstall re-arms every state but discovered', () => {
    for (const from of MACHINE_STATES) assert.equal(canTransition(from, 'discovered'), false, from);
    assert.deepEqual(
      [...REINSTALLABLE_STATES].sort(),
      ['booting', 'configured', 'failed', 'installed', 'installing', 'post-installing', 'registered', 'stalled'],
    );
  });

  void it('failed is left only by reinstall; stalled resumes on any sign of life', () => {
    assert.deepEqual([...nextStates('failed')], ['registered']);
    for (const to of ['booting', 'installing', 'installed', 'failed'] as MachineState[]) assert.ok(canTransition('stalled', to));
  });

  void it('the illegal message names both states and the allowed ones', () => {
    assert.throws(() => assertTransition('failed', 'booting'), /cannot go from failed to booting.*registered/);
  });

  void it('isMachineState', () => {
    assert.ok(isMachineState('installing'));
    assert.ok(!isMachineState('INSTALLING'));
    assert.ok(!isMachineState('toString'));
  });

  void it('isStalled watches booting and installing only', () => {
    const t0 = '2026-01-01T00:00:00.000Z';
    const later = new Date(Date.parse(t0) + 60_000);
    for (const state of MACHINE_STATES) {
      assert.equal(isStalled({ state, stateChangedAt: t0 }, later, 60_000), WATCHED_STATES.includes(state), state);
      assert.equal(isStalled({ state, stateChangedAt: t0 }, later, 60_001), false, state);
    }
  });
});
