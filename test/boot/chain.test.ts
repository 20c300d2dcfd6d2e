import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildArchOf, grubCfgMac, resolveBootChain, secureBootStage, shimFileFor, takesSignedChain } from '../../src/boot/chain.js';
import { client } from './fixtures.js';

void test('resolveBootChain: machine > host > default', () => {
  assert.equal(resolveBootChain(undefined, null, 'ipxe'), 'ipxe');
  assert.equal(resolveBootChain(undefined, 'signed', 'ipxe'), 'signed');
  assert.equal(resolveBootChain('ipxe', 'signed', 'signed'), 'ipxe');
  assert.equal(resolveBootChain(undefined, undefined, 'signed'), 'signed');
});

void test('takesSignedChain: native UEFI x64 and ARM64 PXE only', () => {
  assert.equal(takesSignedChain(client('efi-x64')), true);
  assert.equal(takesSignedChain(client('efi-ia32')), false);
  assert.equal(takesSignedChain(client('bios')), false);
  assert.equal(takesSignedChain(client('efi-x64', { isIpxe: true })), false);
  assert.equal(takesSignedChain(client('efi-x64-http', { isHttpClient: true })), false);
  assert.equal(takesSignedChain(client('efi-arm64')), true);
  assert.equal(shimFileFor(client('efi-arm64')), 'shimaa64.efi');
  assert.equal(shimFileFor(client('efi-x64')), 'shimx64.efi');
  assert.equal(buildArchOf('efi-arm64'), 'arm64');
  assert.equal(buildArchOf(null), 'x86_64');
});

void test('grubCfgMac: per-MAC config names in dash and colon form; anything else is null', () => {
  assert.equal(grubCfgMac('grub/grub.cfg-01-52-54-00-77-00-10'), '52:54:00:77:00:10');
  assert.equal(grubCfgMac('grub/grub.cfg-01-52:54:00:AB:00:10'), '52:54:00:ab:00:10');
  for (const n of ['grub/grub.cfg', 'grub.cfg-01-52-54-00-77-00-10', 'grub/grub.cfg-01-52-54-00-77-00', 'grub/grub.cfg-01-52-54-00-77-00-10/x', 'grub/grub.cfg-02-52-54-00-77-00-10']) {
    assert.equal(grubCfgMac(n), null, n);
  }
});

void test('secureBootStage names the stage a TFTP file stands for', () => {
  assert.equal(secureBootStage('shimx64.efi', 'pxed/assets'), 'shim');
  assert.equal(secureBootStage('grubx64.efi', 'pxed/assets'), 'grub');
  assert.equal(secureBootStage('shimaa64.efi', 'pxed/assets'), 'shim');
  assert.equal(secureBootStage('grubaa64.efi', 'pxed/assets'), 'grub');
  assert.equal(secureBootStage('grub/grub.cfg', 'pxed/assets'), 'grub.cfg');
  assert.equal(secureBootStage('grub/grub.cfg-01-52:54:00:77:00:10', 'pxed/assets'), 'grub.cfg');
  assert.equal(secureBootStage('pxed/assets/lab/vmlinuz', 'pxed/assets'), 'kernel');
  assert.equal(secureBootStage('grub/x86_64-efi/command.lst', 'pxed/assets'), null);
  assert.equal(secureBootStage('snponly.efi', 'pxed/assets'), null);
});
