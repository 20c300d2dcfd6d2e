// Issue 14 item 12: Debian's /usr/lib/ipxe/ipxe.efi is a symlink to /boot/ipxe.efi. Confinement follows symlinks
// into the configured target directories (default /boot) and nowhere else, over TFTP and HTTP alike.
// Uses the real Debian files (the ipxe package is a test peer, scripts/test-deps.sh) and a temporary tree.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildHttpApp } from '../../src/http/app.js';
import { confineAsset } from '../../src/http/confine.js';
import { confine } from '../../src/tftp/confine.js';
import { TftpService } from '../../src/tftp/server.js';
import { makeDeps } from '../http/fakes.js';
import { tftpGet, TftpClientError } from './client.js';

const DEBIAN_ROOT = '/usr/lib/ipxe';
let dir: string;
let bootCopy: Buffer;

before(() => {
  assert.equal(fs.readlinkSync(path.join(DEBIAN_ROOT, 'ipxe.efi')), '/boot/ipxe.efi', 'Debian ipxe package layout');
  bootCopy = fs.readFileSync('/boot/ipxe.efi');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'symlink-targets-'));
  fs.mkdirSync(path.join(dir, 'root'));
  fs.mkdirSync(path.join(dir, 'boot'));
  fs.mkdirSync(path.join(dir, 'elsewhere'));
  fs.writeFileSync(path.join(dir, 'boot', 'ipxe.efi'), 'EFI');
  fs.writeFileSync(path.join(dir, 'elsewhere', 'secret'), 'SECRET');
  fs.symlinkSync(path.join(dir, 'boot', 'ipxe.efi'), path.join(dir, 'root', 'ipxe.efi'));
  fs.symlinkSync(path.join(dir, 'elsewhere', 'secret'), path.join(dir, 'root', 'secret'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

void describe('symlink targets', () => {
  void it('confine: a link into a target dir is served, a link elsewhere is not', async () => {
    const root = path.join(dir, 'root');
    const targets = [path.join(dir, 'boot')];
    assert.notEqual((await confine('ipxe.efi', [root], { symlinkTargets: targets })).file, null);
    assert.equal((await confine('ipxe.efi', [root])).file, null, 'no targets: the root only');
    assert.equal((await confine('secret', [root], { symlinkTargets: targets })).file, null);
    assert.equal((await confineAsset(root, 'ipxe.efi', targets)).ok, true);
    assert.equal((await confineAsset(root, 'ipxe.efi', [])).ok, false);
    assert.equal((await confineAsset(root, 'secret', targets)).ok, false);
  });

  void it('TFTP serves Debian ipxe.efi from /usr/lib/ipxe (default targets), and refuses it without them', async () => {
    for (const symlinkTargets of [undefined, [] as string[]]) {
      const svc = new TftpService({ listen: ['127.0.0.1'], port: 0, roots: [DEBIAN_ROOT], ...(symlinkTargets ? { symlinkTargets } : {}) });
      await svc.start();
      try {
        if (symlinkTargets === undefined) {
          const got = await tftpGet({ host: '127.0.0.1', port: svc.port, file: 'ipxe.efi', options: [['blksize', '1468']] });
          assert.ok(got.data.equals(bootCopy));
        } else {
          await assert.rejects(tftpGet({ host: '127.0.0.1', port: svc.port, file: 'ipxe.efi' }), (e) => e instanceof TftpClientError && e.tftpCode === 1);
        }
      } finally {
        await svc.stop();
      }
    }
  });

  void it('HTTP serves /assets/ipxe/ipxe.efi from the Debian root', async () => {
    const app = buildHttpApp(makeDeps({ ipxeBinRoots: [DEBIAN_ROOT] }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/assets/ipxe/ipxe.efi`);
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bootCopy));
    } finally {
      await app.close();
    }
  });
});
