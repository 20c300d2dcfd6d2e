// A stock NixOS netboot image installs without a pxed module: the install script's kernel line, split and joined
// the way iPXE does (whitespace, then single spaces), is fed to Debian's own systemd-run-generator (the generator a
// NixOS image runs at boot, systemd-run-generator(8)), which must produce exactly our three commands, in order,
// with nothing that powers the machine off when they end. The same for the signed chain: the grub.cfg `linux` line,
// read as GRUB's lexer reads pxed's quoting and turned into the kernel's command line by GRUB's loader rule
// (docs/secure-boot.md "GRUB and kernel arguments").
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { splitKernelArgs } from '../../../src/boot/ipxe.js';
import { createNixosProfile, loadNetbootIpxe, loadNixosTemplates } from '../../../src/boot/os/index.js';
import { nixosInstallerArgs } from '../../../src/boot/os/nixos.js';
import { renderGrubInstall } from '../../../src/boot/grub.js';
import { renderInstall } from '../../../src/boot/scripts.js';
import { ASSET_ROOT, SERVER_URL, TOKEN, ctxFor, exampleProvisioning } from './helpers.js';

const GENERATOR = '/lib/systemd/system-generators/systemd-run-generator';

/** Runs Debian's systemd-run-generator on `cmdline` and checks it produces exactly our three commands, in order. */
function assertRunsInstall(cmdline: string): void {
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
}

async function nixosBoot() {
  const prov = await exampleProvisioning();
  const ci = prov.hostByName('ci-runner-01')!;
  const { byVersion } = await loadNetbootIpxe(prov.defaults.images, [ASSET_ROOT]);
  return { ci, boot: createNixosProfile({ netboot: byVersion, templates: loadNixosTemplates() }).renderInstall(ci, ctxFor(ci)) };
}

void test('the NixOS install kernel line, as iPXE hands it to the kernel, makes systemd-run-generator run fetch-and-install', async () => {
  const { ci, boot } = await nixosBoot();
  const script = renderInstall({ mac: ci.mac!, hostname: 'ci-runner-01', os: 'nixos', bootId: 'b1', kernelUrl: boot.kernel, initrdUrls: boot.initrds, args: splitKernelArgs(boot.cmdline) });
  const kernelLine = script.split('\n').find((l) => l.startsWith('kernel '))!;
  // iPXE: split on whitespace, `kernel <url> args... || goto x`; the image's command line is the args joined by one space.
  const words = kernelLine.split(/\s+/);
  assertRunsInstall(words.slice(2, words.indexOf('||')).join(' '));
});

/** The words of a GRUB config line as pxed writes them: '...' segments and \' escapes, words split on spaces. */
function grubWords(line: string): string[] {
  const out: string[] = [];
  for (const w of line.match(/(?:'[^']*'|\\'|[^\s'\\]+)+/g) ?? []) {
    out.push((w.match(/'[^']*'|\\'|[^\s'\\]+/g) ?? []).map((p) => (p === "\\'" ? "'" : p.startsWith("'") ? p.slice(1, -1) : p)).join(''));
  }
  return out;
}

/** GRUB's `linux` command line from its argument words (grub-core/lib/cmdline.c; docs/secure-boot.md). */
function grubLoaderCmdline(args: readonly string[]): string {
  return args.map((a) => {
    const escaped = a.replace(/[\\'"]/g, (c) => `\\${c}`);
    return a.includes(' ') ? `"${escaped}"` : escaped;
  }).join(' ');
}

void test('the same line through the signed chain (grub.cfg → GRUB\'s loader → kernel) runs fetch-and-install too', async () => {
  const { ci, boot } = await nixosBoot();
  const cfg = renderGrubInstall({ mac: ci.mac!, hostname: 'ci-runner-01', os: 'nixos', bootId: 'b1', kernel: 'nixos/bzImage', initrds: ['nixos/initrd'], args: splitKernelArgs(boot.cmdline) });
  const linux = grubWords(cfg.split('\n').find((l) => l.startsWith('linux '))!);
  assert.equal(linux[1], '/pxed/assets/nixos/bzImage');
  assert.ok(linux.some((w) => w.startsWith('systemd.run=') && w.includes(' ') && !w.includes('"')), 'systemd.run reaches GRUB as one word, unquoted');
  assertRunsInstall(grubLoaderCmdline(linux.slice(2)));
  // Under Secure Boot the shim refuses the (unsigned) NixOS kernel: the console says why and what to do.
  assert.match(cfg, /^echo 'pxed: the kernel did not start: NixOS kernels are not signed by a key shim trusts; turn Secure Boot off and set boot_chain ipxe/m);
});
