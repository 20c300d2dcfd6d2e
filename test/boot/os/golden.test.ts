// Whole-output golden tests for the example hosts of configs/ (fixed server URL and token). Regenerate after an
// intended change with: PXED_UPDATE_GOLDEN=1 node --test <dist>/test/boot/os/golden.test.js (and review the diff).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixtures } from '../../helpers/paths.js';
import { EXAMPLE_HOSTS, ctxFor, exampleProvisioning, profiles } from './helpers.js';

const update = process.env.PXED_UPDATE_GOLDEN === '1';

function golden(host: string, file: string, actual: string): void {
  const p = fixtures('os', 'golden', host, file);
  if (update) {
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, actual);
  }
  assert.equal(actual, readFileSync(p, 'utf8'), `golden ${host}/${file} differs`);
}

const ARTIFACTS: Record<string, Array<[family: string, name: string]>> = {
  ubuntu: [['nocloud', 'user-data'], ['nocloud', 'meta-data']],
  nixos: [['nixos', 'install.sh'], ['nixos', 'configuration.nix'], ['nixos', 'host.json']],
};

void test('example hosts render exactly as the golden files', async () => {
  const prov = await exampleProvisioning();
  const osProfiles = await profiles(prov.defaults.images);
  for (const name of EXAMPLE_HOSTS) {
    const host = prov.hostByName(name);
    assert.ok(host, name);
    const profile = osProfiles[host.install.os];
    assert.ok(profile, host.install.os);
    const ctx = ctxFor(host);
    golden(name, 'install.json', `${JSON.stringify(profile.renderInstall(host, ctx), null, 2)}\n`);
    for (const [family, file] of ARTIFACTS[host.install.os] ?? []) {
      const doc = profile.renderArtifact(family, file, host, ctx);
      assert.ok(doc, `${name} ${family}/${file}`);
      golden(name, file, String(doc.body));
    }
  }
});

void test('unused NoCloud files and unknown names are 404 (null)', async () => {
  const prov = await exampleProvisioning();
  const osProfiles = await profiles(prov.defaults.images);
  const web = prov.hostByName('web-01')!;
  const ci = prov.hostByName('ci-runner-01')!;
  for (const n of ['vendor-data', 'network-config', 'user-data/../x', '']) {
    assert.equal(osProfiles.ubuntu!.renderArtifact('nocloud', n, web, ctxFor(web)), null, n);
  }
  assert.equal(osProfiles.ubuntu!.renderArtifact('nixos', 'install.sh', web, ctxFor(web)), null);
  assert.equal(osProfiles.nixos!.renderArtifact('nocloud', 'user-data', ci, ctxFor(ci)), null);
  assert.equal(osProfiles.nixos!.renderArtifact('nixos', 'hardware-configuration.nix', ci, ctxFor(ci)), null);
});
