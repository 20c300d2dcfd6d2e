// The local MachinePort on a real SQLite registry: register creates `registered`, registering again leaves a
// machine mid-install alone and re-arms one that finished; status gives the state and the last timeline event.
// Arming a seed boot (boot_method iso/image): a live token for the machine, which moves to booting; the remote form
// reads the NoCloud seed URL out of the install script the daemon renders.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProvisioning } from '../../src/config/load.js';
import { installContext } from '../../src/boot/os-profile.js';
import { createUbuntuProfile } from '../../src/boot/os/index.js';
import { hashToken, isTokenShaped, mintToken } from '../../src/boot/tokens.js';
import { localMachines, seedArmFromScript } from '../../src/orchestrator/machines.js';
import { hostSpec } from '../boot/fixtures.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import { fixtures } from '../helpers/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pxed-orch-machines-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const text = (n: string) => readFileSync(fixtures('config', 'original', n), 'utf8');
const prov = parseProvisioning({
  defaults: ['d', text('defaults.yaml')],
  vmSpecs: ['v', text('vm_specs.yaml')],
  installConfig: ['i', text('install_config.yaml')],
});

void describe('localMachines', () => {
  void it('registers, leaves an install in progress alone, re-arms a finished one', async () => {
    const db = path.join(dir, 'pxed.db');
    const web = prov.hostByName('web-01')!;
    const port = localMachines(db, prov);
    assert.equal(await port.status(web.mac!), null);
    assert.equal(await port.register(web, [web.mac!]), web.mac);
    assert.equal((await port.status(web.mac!))?.state, 'registered');

    const reg = openRegistry(db);
    reg.machineTransition(web.mac!, 'booting', 'test');
    await port.register(web, [web.mac!]);
    assert.equal((await port.status(web.mac!))?.state, 'booting', 'mid-install: untouched');
    // A stalled boot comes with the stage hint the admin page and the CLI show (model/stage.ts).
    reg.machineTransition(web.mac!, 'stalled', 'watchdog');
    assert.match((await port.status(web.mac!))?.hint ?? '', /no DHCP request from this MAC yet/);
    reg.machineTransition(web.mac!, 'booting', 'test');
    reg.machineTransition(web.mac!, 'installing', 'test');
    reg.machineTransition(web.mac!, 'installed', 'test');
    const s = await port.status(web.mac!);
    assert.equal(s?.state, 'installed');
    assert.equal(s?.lastEvent, 'state');
    await port.register(web, [web.mac!]);
    assert.equal((await port.status(web.mac!))?.state, 'registered', 'finished: re-armed');
    reg.close();
    await port.close?.();
  });

  void it('armSeed: a live token for the boot, the machine booting; refused without pxed\'s URL', async () => {
    const web = prov.hostByName('web-01')!;
    const db = path.join(dir, 'arm.db');
    const port = localMachines(db, prov, { serverUrl: () => 'http://10.0.0.2:8080/', tokenTtlMinutes: 90 });
    await port.register(web, [web.mac!]);
    const arm = await port.armSeed(web.mac!);
    assert.equal(arm.serverUrl, 'http://10.0.0.2:8080');
    assert.ok(isTokenShaped(arm.token));
    const reg = openRegistry(db);
    assert.equal(reg.machineGet(web.mac!)?.state, 'booting');
    const t = reg.tokenGet(hashToken(arm.token));
    assert.equal(t?.mac, web.mac);
    assert.equal(t?.revokedAt, null);
    assert.ok(Math.abs(Date.parse(t!.expiresAt) - Date.parse(t!.createdAt) - 90 * 60_000) < 1000);
    reg.close();
    await port.close?.();

    const none = localMachines(path.join(dir, 'arm2.db'), prov, { serverUrl: () => null });
    await none.register(web, [web.mac!]);
    await assert.rejects(none.armSeed(web.mac!), /http\.public_url/);
    await none.close?.();
  });

  void it('seedArmFromScript: pxed\'s URL and the token from an Ubuntu install command line; anything else refused', () => {
    const token = mintToken();
    const host = { ...hostSpec('ubu1', 'ubuntu'), image: { os: 'ubuntu' as const, version: '24.04', iso_url: 'http://m/u.iso', kernel_url: 'k', initrd_url: 'i', codename: null } };
    const cmdline = createUbuntuProfile().renderInstall(host, installContext('http://10.0.0.2:8080', token, '52:54:00:12:34:56', 'ubu1')).cmdline;
    assert.deepEqual(seedArmFromScript('52:54:00:12:34:56', `#!ipxe\nkernel k ${cmdline}\nboot\n`), { serverUrl: 'http://10.0.0.2:8080', token });
    assert.throws(() => seedArmFromScript('52:54:00:12:34:56', '#!ipxe\nsanboot --no-describe --drive 0x80\n'), /no NoCloud seed URL/);
  });

  void it('recordPost: the post stage on the timeline, installed → post-installing → configured (or failed)', async () => {
    const web = prov.hostByName('web-01')!;
    const db = path.join(dir, 'post.db');
    const port = localMachines(db, prov);
    await port.register(web, [web.mac!]);
    const reg = openRegistry(db);
    reg.machineTransition(web.mac!, 'booting', 'test');
    reg.machineTransition(web.mac!, 'installed', 'test');
    await port.recordPost(web.mac!, { phase: 'started', host: 'web-01' });
    assert.equal(reg.machineGet(web.mac!)?.state, 'post-installing');
    const stats = { ok: 12, changed: 7, unreachable: 0, failed: 0, skipped: 4 };
    await port.recordPost(web.mac!, { phase: 'ok', stats, logPath: '/b/web-01/logs/post.log' });
    assert.equal(reg.machineGet(web.mac!)?.state, 'configured');
    const ev = reg.eventList(web.mac!).filter((e) => e.kind === 'post-install').map((e) => e.detail);
    assert.deepEqual(ev.map((d) => [d.phase, d.by]), [['started', 'orchestrator'], ['ok', 'orchestrator']]);
    assert.deepEqual(ev[1]!.stats, stats);
    reg.machineTransition(web.mac!, 'post-installing', 'test');
    await port.recordPost(web.mac!, { phase: 'failed', error: 'task "Create users": boom' });
    assert.equal(reg.machineGet(web.mac!)?.state, 'failed');
    reg.close();
    await port.close?.();
  });
});
