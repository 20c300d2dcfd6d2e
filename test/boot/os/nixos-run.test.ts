// A stock NixOS netboot image installs without a pxed module: the install script's kernel line, split and joined
// the way iPXE does (whitespace, then single spaces), is fed to Debian's own systemd-run-generator (the generator a
// NixOS image runs at boot, systemd-run-generator(8)), which must produce exactly our three commands, in order,
// with nothing that powers the machine off when they end.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { splitKernelArgs } from '../../../src/boot/ipxe.js';
import { createNixosProfile, loadNetbootIpxe, loadNixosTemplates } from '../../../src/boot/os/index.js';
import { nixosInstallerArgs } from '../../../src/boot/os/nixos.js';
import { renderInstall } from '../../../src/boot/scripts.js';
import { ASSET_ROOT, SERVER_URL, TOKEN, ctxFor, exampleProvisioning } from './helpers.js';

const GENERATOR = '/lib/systemd/system-generators/systemd-run-generator';

void test('the NixOS install kernel line, as iPXE hands it to the kernel, makes systemd-run-generator run fetch-and-install', async () => {
  const prov = await exampleProvisioning();
  const ci = prov.hostByName('ci-runner-01')!;
  const { byVersion } = await loadNetbootIpxe(prov.defaults.images, [ASSET_ROOT]);
  const boot = createNixosProfile({ netboot: byVersion, templates: loadNixosTemplates() }).renderInstall(ci, ctxFor(ci));
  const script = renderInstall({ mac: ci.mac!, hostname: 'ci-runner-01', os: 'nixos', bootId: 'b1', kernelUrl: boot.kernel, initrdUrls: boot.initrds, args: splitKernelArgs(boot.cmdline) });
  const kernelLine = script.split('\n').find((l) => l.startsWith('kernel '))!;
  // iPXE: split on whitespace, `kernel <url> args... || goto x`; the image's command line is the args joined by one space.
  const words = kernelLine.split(/\s+/);
  const cmdline = words.slice(2, words.indexOf('||')).join(' ');
  assert.ok(cmdline.length < 2048, `x86 COMMAND_LINE_SIZE: ${cmdline.length}`);
  const out = mkdtempSync(path.join(os.tmpdir(), 'pxed-ops17-rungen-'));
  try {
    execFileSync(GENERATOR, [out, out, out], { env: { ...process.env, SYSTEMD_PROC_CMDLINE: cmdline } });
    const unit = readFileSync(path.join(out, 'kernel-command-line.service'), 'utf8');
    const execs = unit.split('\n').filter((l) => l.startsWith('ExecStart=')).map((l) => l.slice('ExecStart='.length));
    const url = `${SERVER_URL}/nixos/${TOKEN}/install.sh`;
    const want = nixosInstallerArgs(url)
      .filter((a) => a.startsWith('systemd.run='))
      .map((a) => a.slice('systemd.run="'.length, -1));
    assert.deepEqual(execs, want);
    assert.match(execs[1]!, new RegExp(`curl .* -o /run/pxed-install\\.sh ${url.replace(/[.]/g, '\\.')}$`));
    assert.doesNotMatch(unit, /SuccessAction|FailureAction/, 'the machine stays up when a command ends (install.sh reboots itself)');
    assert.equal(readlinkSync(path.join(out, 'default.target')), 'kernel-command-line.target');
    console.log(`kernel command line ${cmdline.length} bytes; generated:\n${unit}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
