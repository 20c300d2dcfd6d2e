// The local MachinePort on a real SQLite registry: register creates `registered`, registering again leaves a
// machine mid-install alone and re-arms one that finished; status gives the state and the last timeline event.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProvisioning } from '../../src/config/load.js';
import { localMachines } from '../../src/orchestrator/machines.js';
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
});
