// `pxed doctor`'s live LAN probe, run inside a namespace on a bridged test LAN (test/dhcp/helpers/lab.ts) against a
// real dnsmasq: (a) handing out a boot file and next-server with its addresses, which makes PXE firmware ignore
// pxed's proxy offers (doctor fails and says why), and (b) plain DHCP without boot options (doctor passes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { killGroup } from '../helpers/netns.js';
import { cliMain, repoRoot } from '../helpers/paths.js';
import { makeLab, startLanDhcp, type Lab } from '../dhcp/helpers/lab.js';

interface Report {
  ok: boolean;
  checks: { id: string; status: string; summary: string; fix?: string }[];
}

let lab: Lab;
let cfgFile: string;

before(() => {
  lab = makeLab();
  for (const f of ['defaults.yaml', 'vm_specs.yaml', 'install_config.yaml']) copyFileSync(path.join(repoRoot, 'configs', f), path.join(lab.dir, f));
  // The NixOS example's netboot.ipxe in the asset root, so the asset checks pass and only the LAN is judged.
  mkdirSync(path.join(lab.dir, 'nixos', '25.05'), { recursive: true });
  copyFileSync(path.join(repoRoot, 'test', 'fixtures', 'os', 'assets', 'nixos', '25.05', 'netboot.ipxe'), path.join(lab.dir, 'nixos', '25.05', 'netboot.ipxe'));
  cfgFile = path.join(lab.dir, 'pxed.yaml');
  const cfg = {
    server: { interface: 'eth0' },
    dhcp: { enabled: true, mode: 'proxy' },
    tftp: { roots: ['/usr/lib/ipxe'] },
    http: { port: 8080, asset_roots: [lab.dir] },
    registry: { database: './pxed.db' },
    admin: { token_file: './admin.token' },
  };
  writeFileSync(cfgFile, JSON.stringify(cfg));
});

after(async () => {
  await lab?.destroy();
});

/** pxed doctor --json inside the server's namespace (10.77.0.2 on eth0). */
function doctor(): { code: number | null; report: Report; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('ip', ['netns', 'exec', lab.server.name, process.execPath, cliMain, 'doctor', '--config', cfgFile, '--json', '--lan-wait', '1'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.stderr, '');
  return { code: r.status, report: JSON.parse(r.stdout) as Report, ms: Date.now() - t0 };
}

void test('a LAN DHCP server handing out a boot file and next-server breaks pxed: doctor exits 1 and explains', async () => {
  const lan = await startLanDhcp(lab, ['--dhcp-boot=pxelinux.0,bootsrv,10.77.0.1']);
  try {
    const { code, report, ms } = doctor();
    const lanRow = report.checks.find((c) => c.id === 'lan:10.77.0.1');
    assert.ok(lanRow, JSON.stringify(report.checks));
    assert.equal(lanRow.status, 'fail');
    assert.match(lanRow.summary, /offers 10\.77\.0\.1\d\d with boot file "pxelinux\.0", option 66 "bootsrv", next-server 10\.77\.0\.1: firmware and iPXE boot that and ignore pxed/);
    assert.match(lanRow.fix ?? '', /dnsmasq: dhcp-boot/);
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    // Only the LAN check fails here.
    assert.deepEqual(report.checks.filter((c) => c.status === 'fail').map((c) => c.id), ['lan:10.77.0.1']);
    console.log(`doctor with a PXE-configured dnsmasq: exit ${code} in ${ms} ms: ${lanRow.summary}`);
  } finally {
    await killGroup(lan);
  }
});

void test('a LAN DHCP server without boot options is fine with pxed in proxy mode: doctor exits 0', async () => {
  const lan = await startLanDhcp(lab);
  try {
    const { code, report, ms } = doctor();
    const lanRow = report.checks.find((c) => c.id === 'lan:10.77.0.1');
    assert.ok(lanRow, JSON.stringify(report.checks));
    assert.equal(lanRow.status, 'ok');
    assert.match(lanRow.summary, /hands out addresses without boot options/);
    assert.equal(code, 0, JSON.stringify(report.checks.filter((c) => c.status !== 'ok')));
    console.log(`doctor with a plain dnsmasq: exit ${code} in ${ms} ms`);
  } finally {
    await killGroup(lan);
  }
});

void test('nobody answering in proxy mode is a warning (clients would get no address), not a crash', () => {
  const { code, report } = doctor();
  const lanRow = report.checks.find((c) => c.id === 'lan');
  assert.equal(lanRow?.status, 'warn');
  assert.match(lanRow.summary, /no DHCP server answered/);
  assert.equal(code, 0);
});
