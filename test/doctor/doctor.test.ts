// `pxed doctor` on a config in a temp dir: a port held by another process (a real python3 listener on loopback),
// a TFTP root without iPXE, a world-readable admin token, a healthy and a corrupt registry; text and --json output.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/cli.js';
import type { CliIO } from '../../src/cli/io.js';
import { parseProcNet } from '../../src/doctor/ports.js';
import { openRegistry } from '../../src/registry/sqlite.js';

const REPO = path.resolve(import.meta.dirname, '..', '..', '..');

async function doctor(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: async () => '', env: {}, cwd: REPO };
  const code = await main(['doctor', ...args], io);
  return { code, stdout, stderr };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

void describe('pxed doctor', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-appliance17-doctor-'));
  const cfgFile = path.join(dir, 'pxed.yaml');
  const tftp = path.join(dir, 'tftp');
  const token = path.join(dir, 'admin.token');
  let port = 0;
  let holder: ChildProcess | null = null;

  before(async () => {
    mkdirSync(tftp);
    mkdirSync(path.join(dir, 'assets'));
    for (const f of ['defaults.yaml', 'vm_specs.yaml', 'install_config.yaml']) copyFileSync(path.join(REPO, 'configs', f), path.join(dir, f));
    port = await freePort();
    const cfg = {
      server: { address: '127.0.0.1' },
      http: { listen: '127.0.0.1', port, asset_roots: ['./assets'] },
      tftp: { roots: ['./tftp'], port: 6969 },
      dhcp: { enabled: false },
      registry: { database: './pxed.db' },
      admin: { token_file: './admin.token' },
    };
    writeFileSync(cfgFile, JSON.stringify(cfg));
    holder = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', String(port)], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((r) => {
        const c = net.connect(port, '127.0.0.1', () => (c.end(), r(true))).on('error', () => r(false));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(() => {
    if (holder?.pid !== undefined) process.kill(holder.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  void it('names the process holding the HTTP port, the missing iPXE binaries and a readable token, each with a fix', async () => {
    writeFileSync(token, 'secret\n');
    chmodSync(token, 0o644);
    const r = await doctor(['--config', cfgFile]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`^FAIL port-http: tcp/${port} \\(http\\) is bound by python3 \\(pid ${holder!.pid}\\)$`, 'm'));
    assert.match(r.stdout, /^ok {3}port-tftp: udp\/6969 \(tftp\) is free$/m);
    assert.match(r.stdout, /^FAIL ipxe-binaries: missing from every TFTP root: undionly\.kpxe, ipxe\.efi, snponly\.efi\n {5}fix: apt install ipxe/m);
    assert.match(r.stdout, /^FAIL admin-token: .*admin\.token is readable by others \(mode 644\)\n {5}fix: chmod 600 /m);
    assert.match(r.stdout, /^ok {3}registry: .*does not exist yet/m);
    assert.match(r.stdout, /^ok {3}provisioning: 3 hosts/m);
    assert.match(r.stdout, /^FAIL asset:nixos\/25\.05\/netboot\.ipxe: asset nixos\/25\.05\/netboot\.ipxe is missing: .*\n {5}fix: pxed assets fetch nixos\/25\.05\/netboot\.ipxe$/m);
  });

  void it('passes with everything fixed and reports the registry; --json gives the same checks', async () => {
    process.kill(holder!.pid!);
    await new Promise((r) => holder!.once('exit', r));
    holder = null;
    chmodSync(token, 0o600);
    for (const b of ['undionly.kpxe', 'ipxe.efi', 'snponly.efi']) writeFileSync(path.join(tftp, b), 'x');
    openRegistry(path.join(dir, 'pxed.db')).close();
    // The NixOS example's netboot.ipxe, placed by hand (no checksum: a warning).
    mkdirSync(path.join(dir, 'assets', 'nixos', '25.05'), { recursive: true });
    copyFileSync(path.join(REPO, 'test', 'fixtures', 'os', 'assets', 'nixos', '25.05', 'netboot.ipxe'), path.join(dir, 'assets', 'nixos', '25.05', 'netboot.ipxe'));
    const r = await doctor(['--config', cfgFile, '--json']);
    assert.equal(r.code, 0, r.stdout);
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: { id: string; status: string; summary: string }[] };
    assert.equal(doc.ok, true);
    assert.match(doc.checks.find((c) => c.id === 'registry')!.summary, /schema \d+, integrity ok, 0 machines/);
    assert.equal(doc.checks.find((c) => c.id === 'port-http')!.status, 'ok');
    assert.equal(doc.checks.find((c) => c.id === 'asset:nixos/25.05/netboot.ipxe')!.status, 'warn');
  });

  void it('fails on a registry file that is not a database', async () => {
    writeFileSync(path.join(dir, 'pxed.db'), Buffer.alloc(4096, 0x41));
    const r = await doctor(['--config', cfgFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^FAIL registry: .*pxed\.db: /m);
  });

  void it('parses /proc/net rows: IPv4 hex addresses, listening TCP only', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1',
      '   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1',
    ].join('\n');
    assert.deepEqual(parseProcNet(text, 'tcp', 8080), [{ proto: 'tcp', address: '127.0.0.1', port: 8080, inode: 4242 }]);
    assert.deepEqual(parseProcNet(text, 'udp', 8080).length, 2);
    // Byte order (little-endian host) and a row that is not hex: kept as listed, never a crash.
    const odd = ['hdr', '   0: 0A4D00C0:0043 00000000:0000 07 0 0 0 0 0 77 1', '   1: ZZ4D00C0:0043 00000000:0000 07 0 0 0 0 0 78 1'].join('\n');
    assert.deepEqual(parseProcNet(odd, 'udp', 67).map((r) => r.address), ['192.0.77.10', 'ZZ4D00C0']);
  });
});
