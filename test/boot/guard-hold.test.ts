// BootGuard.hold on its own: when a script fetch for a booting/installing machine is held, re-served or let through.
// The restart case is the one the crash test found: nothing armed in this process, the registry's tokens decide.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BootGuard } from '../../src/boot/guard.js';

const MAC = '52:54:00:14:02:01';
const HASH = 'a'.repeat(64);
const doc = { contentType: 'text/plain', body: '#!ipxe\n' };
const tokens = (live: boolean, anyLive: boolean) => ({ live: () => live, anyLive: () => anyLive });

void test('after a restart (nothing armed here): no live token lets the first script through, a live one holds it', () => {
  const g = new BootGuard();
  assert.equal(g.hold(MAC, 'booting', '10.0.0.9', tokens(false, false)), null, 'DHCP answered before the restart, first script after it');
  const held = g.hold(MAC, 'installing', '10.0.0.9', tokens(false, true));
  assert.equal(held?.kind, 'refuse', 'an install whose token survived the restart is not re-minted without a reboot');
});

void test('armed here: same address re-served, another refused, a dead token or a reboot lets the fetch through', () => {
  const g = new BootGuard();
  g.minted(MAC, { hash: HASH, bootId: 'b1', address: '10.0.0.9', document: doc }, 0);
  assert.equal(g.hold(MAC, 'booting', '10.0.0.9', tokens(true, true))?.kind, 'reserve');
  assert.equal(g.hold(MAC, 'booting', '10.0.0.66', tokens(true, true))?.kind, 'refuse');
  assert.equal(g.hold(MAC, 'booting', '10.0.0.66', tokens(false, true)), null, 'the armed token is dead');
  assert.equal(g.hold(MAC, 'installed', '10.0.0.66', tokens(true, true)), null, 'not an armed state');
  g.dhcpExchange(MAC);
  assert.equal(g.hold(MAC, 'installing', '10.0.0.66', tokens(true, true)), null, 'a new DHCP exchange (reboot) re-arms');
});
