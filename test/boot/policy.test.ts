import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import { isPxedError } from '../../src/errors.js';
import { hashToken } from '../../src/boot/tokens.js';
import type { Firmware } from '../../src/boot/types.js';
import { MAC, PORT, SERVER, client, hostSpec, query, rig, tokenOf, type Rig } from './fixtures.js';

const URL_BASE = `http://${SERVER}:${PORT}`;
const scriptReq = (mac: string, q: Record<string, string> = {}, ip = '10.77.0.50') => ({ mac, query: q, clientAddress: ip });

function kinds(r: Rig, mac = MAC): string[] {
  return r.registry.eventList(mac).map((e) => e.kind);
}

function withRig(fn: (r: Rig) => Promise<void> | void, over: Parameters<typeof rig>[0] = {}, hosts?: Parameters<typeof rig>[1]) {
  return async () => {
    const r = rig(over, hosts);
    try {
      await fn(r);
    } finally {
      r.close();
    }
  };
}

void test(
  'DHCP: boot file per firmware, iPXE loop breaker, unsupported firmware stays silent',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'lab1' });
    const table: Array<[Firmware, Partial<Parameters<typeof client>[1]>, string | null, string | null]> = [
      ['bios', {}, 'undionly.kpxe', 'direct'],
      ['efi-x64', {}, 'snponly.efi', 'binl'],
      ['efi-ia32', {}, 'i386/snponly.efi', 'binl'],
      ['efi-arm64', {}, 'arm64/snponly.efi', 'binl'],
      ['efi-x64-http', {}, `${URL_BASE}/assets/ipxe/snponly.efi`, 'direct'],
      ['efi-arm64-http', {}, `${URL_BASE}/assets/ipxe/arm64/snponly.efi`, 'direct'],
      // iPXE (ROM, chained undionly/snponly, or our own build): straight to the bootstrap script, never undionly again.
      ['bios', { isIpxe: true, userClasses: ['iPXE'] }, `${URL_BASE}/boot.ipxe`, 'direct'],
      ['efi-x64', { isIpxe: true, userClasses: ['iPXE'] }, `${URL_BASE}/boot.ipxe`, 'direct'],
      ['efi-x64', { isIpxe: true, isOurIpxe: true, userClasses: ['pxed'] }, `${URL_BASE}/boot.ipxe`, 'direct'],
      ['efi-arm32', {}, null, null],
      ['efi-riscv64', {}, null, null],
      ['unsupported', {}, null, null],
    ];
    for (const [fw, over, file, strategy] of table) {
      const a = await r.policy.dhcpBoot(query(client(fw, over)));
      assert.equal(a?.bootFile ?? null, file, `${fw} ${JSON.stringify(over)}`);
      assert.equal(a?.strategy ?? null, strategy, `${fw} ${JSON.stringify(over)}`);
      if (a) assert.equal(a.nextServer, SERVER);
    }
    const offers = r.registry.eventList(MAC).filter((e) => e.kind === 'dhcp-offer');
    assert.equal(offers.length, table.length, 'every answer (and every silent refusal) is on the timeline');
    assert.equal(offers[0]?.detail.bootFile, 'undionly.kpxe');
    assert.equal(offers[0]?.detail.strategy, 'direct');
    assert.equal(offers[0]?.detail.stage, 'proxy-offer');
    assert.equal(offers.at(-1)?.detail.bootFile, null);
  }),
);

void test(
  'DHCP: per-machine overrides beat the host entry, which beats the daemon default',
  withRig(
    async (r) => {
      r.admin.create({ mac: MAC, host: 'direct1' });
      let a = await r.policy.dhcpBoot(query(client('efi-x64')));
      assert.deepEqual([a?.bootFile, a?.strategy], ['ipxe.efi', 'direct'], 'host pxe settings');
      r.admin.update(MAC, { overrides: { efiBinary: 'snponly.efi', uefiStrategy: 'binl' } });
      a = await r.policy.dhcpBoot(query(client('efi-x64'), 'proxy-ack-4011'));
      assert.deepEqual([a?.bootFile, a?.strategy], ['snponly.efi', 'binl'], 'registry overrides');
      assert.equal(r.registry.eventList(MAC).at(-1)?.kind, 'dhcp-ack');
    },
    {},
    [hostSpec('direct1', 'custom', { pxe: { efi_binary: 'ipxe.efi', uefi_strategy: 'direct' } })],
  ),
);

void test(
  'unknown MACs: ignore stays silent and records nothing',
  withRig(async (r) => {
    assert.equal(await r.policy.dhcpBoot(query(client('bios'))), null);
    assert.equal(r.registry.machineGet(MAC), null);
    assert.equal(r.registry.eventListAll().length, 0);
  }),
);

void test(
  'unknown MACs: discover records a discovered machine once and stays silent',
  withRig(
    async (r) => {
      const c = client('efi-x64', { uuid: '8a0d1a7e-3c3a-4a7e-9b1c-0123456789ab' });
      assert.equal(await r.policy.dhcpBoot(query(c)), null);
      assert.equal(await r.policy.dhcpBoot(query(c)), null);
      const m = r.registry.machineGet(MAC);
      assert.equal(m?.state, 'discovered');
      assert.equal(m?.arch, 7);
      assert.equal(m?.firmware, 'efi-x64');
      assert.equal(m?.uuid, c.uuid);
      assert.equal(m?.vendorClass, c.vendorClass);
      assert.deepEqual(kinds(r), ['state', 'discovered']);
      // Unsupported firmware is not even recorded.
      assert.equal(await r.policy.dhcpBoot(query(client('unsupported', { mac: '52:54:00:00:00:02' }))), null);
      assert.equal(r.registry.machineGet('52:54:00:00:00:02'), null);
      // An operator registers it: now it boots.
      r.admin.create({ mac: MAC, host: 'lab1' });
      assert.equal(r.registry.machineGet(MAC)?.state, 'registered');
      assert.equal((await r.policy.dhcpBoot(query(c)))?.bootFile, 'snponly.efi');
    },
    { unknownMacs: 'discover' },
  ),
);

void test(
  'discovered machines reach the discovered script when bootDiscovered is set',
  withRig(
    async (r) => {
      await r.policy.dhcpBoot(query(client('bios')));
      assert.equal((await r.policy.dhcpBoot(query(client('bios'))))?.bootFile, 'undionly.kpxe');
      const doc = await r.policy.machineScript(scriptReq(MAC));
      assert.match(String(doc.body), /has no install entry/);
      assert.equal(r.registry.machineGet(MAC)?.state, 'discovered');
    },
    { unknownMacs: 'discover', bootDiscovered: true },
  ),
);

void test(
  'lifecycle walk: registered → booting → installing → installed → local boot (Ubuntu, Subiquity webhook)',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'ubu1' });
    // 1. Native UEFI PXE: the first offer moves the machine to booting.
    const offer = await r.policy.dhcpBoot(query(client('efi-x64')));
    assert.equal(offer?.bootFile, 'snponly.efi');
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting');
    // 2. The chained iPXE asks again: bootstrap URL.
    r.clock.advanceMinutes(1);
    assert.equal((await r.policy.dhcpBoot(query(client('efi-x64', { isIpxe: true }))))?.bootFile, `${URL_BASE}/boot.ipxe`);
    // 3. Its script: an install, a token is minted.
    const script = String((await r.policy.machineScript(scriptReq('52-54-00-77-00-10', { arch: 'x86_64', platform: 'efi' }))).body);
    assert.match(script, /^kernel http:\/\/10\.77\.0\.2:8080\/assets\/ubuntu\/24\.04\/vmlinuz initrd=initrd /m);
    const token = tokenOf(script);
    assert.ok(token.length >= 22);
    const stored = r.registry.tokenGet(hashToken(token));
    assert.equal(stored?.mac, MAC);
    assert.equal(stored?.revokedAt, null);
    assert.equal(Date.parse(stored.expiresAt) - r.clock.t, 240 * 60_000);
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting');
    const scriptEvent = r.registry.eventList(MAC).filter((e) => e.kind === 'ipxe-script').at(-1);
    assert.equal(scriptEvent?.detail.variant, 'install');
    assert.equal(scriptEvent?.detail.bootId, stored.bootId);
    // 4. Kernel and initrd downloads are recorded by IP (learned from the script request).
    r.policy.assetServed('10.77.0.50', 'ubuntu/24.04/vmlinuz', 1000, 200);
    // 5. The installer fetches its seed: booting → installing.
    const ud = await r.policy.tokenArtifact({ family: 'nocloud', token, name: 'user-data', clientAddress: '10.77.0.50' });
    assert.match(String(ud?.body), /api\/v1\/boot\//);
    assert.equal(r.registry.machineGet(MAC)?.state, 'installing');
    assert.ok(await r.policy.tokenArtifact({ family: 'nocloud', token, name: 'meta-data', clientAddress: '10.77.0.50' }));
    assert.equal(await r.policy.tokenArtifact({ family: 'nocloud', token, name: 'vendor-data', clientAddress: '10.77.0.50' }), null);
    // 6. Subiquity reports progress, then the late stage finishes.
    const ev = (o: Record<string, unknown>) => r.policy.phoneHome({ token, body: { origin: 'curtin', timestamp: 1.7e9, ...o }, clientAddress: '10.77.0.50' });
    assert.deepEqual(await ev({ event_type: 'start', name: 'subiquity/Install/install', description: 'installing' }), { state: 'installing' });
    assert.deepEqual(await ev({ event_type: 'finish', name: 'subiquity/Late/run', result: 'SUCCESS', description: 'late' }), { state: 'installed' });
    assert.notEqual(r.registry.tokenGet(hashToken(token))?.revokedAt, null, 'install completion revokes the token');
    // A repeat after installed is fine and changes nothing.
    assert.deepEqual(await ev({ event_type: 'finish', name: 'subiquity/Late/run', result: 'SUCCESS' }), { state: 'installed' });
    // ...but the seed is gone.
    assert.equal(await r.policy.tokenArtifact({ family: 'nocloud', token, name: 'user-data', clientAddress: '10.77.0.50' }), null);
    // 7. The next netboot: still the iPXE chain, and the script boots the local disk without minting a token.
    assert.equal((await r.policy.dhcpBoot(query(client('efi-x64', { isIpxe: true }))))?.bootFile, `${URL_BASE}/boot.ipxe`);
    const local = String((await r.policy.machineScript(scriptReq(MAC, { platform: 'efi' }))).body);
    assert.doesNotMatch(local, /kernel|api\/v1\/boot/);
    assert.match(local, /^exit$/m);
    assert.equal(r.registry.machineGet(MAC)?.state, 'installed');
    const last = r.registry.eventList(MAC).filter((e) => e.kind === 'ipxe-script').at(-1);
    assert.deepEqual([last?.detail.variant, last?.detail.method], ['local-boot', 'exit']);
    const states = r.registry
      .eventList(MAC)
      .filter((e) => e.kind === 'state')
      .map((e) => e.detail.to);
    assert.deepEqual(states, ['registered', 'booting', 'booting', 'installing', 'installed']);
    assert.ok(kinds(r).includes('asset'));
    assert.ok(kinds(r).includes('artifact'));
  }),
);

void test(
  'custom profile: phone-home {status: installed} goes booting → installed; BIOS local boot uses sanboot',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'lab1' });
    const script = String((await r.policy.machineScript(scriptReq(MAC, { platform: 'pcbios' }))).body);
    const token = tokenOf(script);
    assert.deepEqual(await r.policy.phoneHome({ token, body: { status: 'installed', detail: 'lab payload' }, clientAddress: '10.77.0.50' }), {
      state: 'installed',
    });
    const local = String((await r.policy.machineScript(scriptReq(MAC, { platform: 'pcbios' }))).body);
    assert.match(local, /^sanboot --no-describe --drive 0x80 \|\|$/m);
  }),
);

void test(
  'install mode always: an installed machine netbooting again reinstalls',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'lab1', installMode: 'always' });
    const t1 = tokenOf(String((await r.policy.machineScript(scriptReq(MAC))).body));
    await r.policy.phoneHome({ token: t1, body: { status: 'installed' }, clientAddress: '10.77.0.50' });
    assert.equal(r.registry.machineGet(MAC)?.state, 'installed');
    const again = String((await r.policy.machineScript(scriptReq(MAC))).body);
    assert.match(again, /^kernel /m);
    assert.notEqual(tokenOf(again), t1);
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting');
  }),
);

void test(
  'a failed write while arming or finishing an install leaves the registry as it was (one transaction each)',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'ubu1' });
    const t1 = tokenOf(String((await r.policy.machineScript(scriptReq(MAC))).body));
    // The machine reboots (a new DHCP exchange), so its next script re-arms: that arming fails.
    await r.policy.dhcpBoot(query(client('efi-x64', { isIpxe: true })));
    const eventsBefore = r.registry.eventList(MAC).length;
    // The token's INSERT fails inside the arming write, after the state change and the revocation ran in it.
    const db = (r.registry as unknown as { store: { db: Database.Database } }).store.db;
    db.exec("CREATE TEMP TRIGGER fail_token BEFORE INSERT ON tokens BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    assert.throws(() => r.policy.machineScript(scriptReq(MAC)), /disk full/);
    db.exec('DROP TRIGGER fail_token');
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting');
    assert.equal(r.registry.eventList(MAC).length, eventsBefore, 'no state or script event from the failed arming');
    // The live token was not revoked: the installer of the armed boot carries on.
    const art = await r.policy.tokenArtifact({ family: 'nocloud', token: t1, name: 'user-data', clientAddress: '10.77.0.50' });
    assert.notEqual(art, null);
    assert.equal(r.registry.machineGet(MAC)?.state, 'installing');

    // Phone-home: the report event and the transition to installed commit together.
    const afterArtifact = r.registry.eventList(MAC).length;
    const realRevoke = r.registry.tokenRevokeAll.bind(r.registry);
    r.registry.tokenRevokeAll = () => {
      throw new Error('disk full');
    };
    assert.throws(() => r.policy.phoneHome({ token: t1, body: { status: 'installed' }, clientAddress: '10.77.0.50' }), /disk full/);
    r.registry.tokenRevokeAll = realRevoke;
    assert.equal(r.registry.machineGet(MAC)?.state, 'installing');
    assert.equal(r.registry.eventList(MAC).length, afterArtifact);
    // The installer retries and it lands.
    assert.deepEqual(await r.policy.phoneHome({ token: t1, body: { status: 'installed' }, clientAddress: '10.77.0.50' }), { state: 'installed' });
  }),
);

void test(
  'tokens: expiry, reuse after a newer boot, unknown and malformed tokens',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'ubu1' });
    const t1 = tokenOf(String((await r.policy.machineScript(scriptReq(MAC))).body));
    // Without a new DHCP exchange the same client gets the same script (same token) again.
    assert.equal(tokenOf(String((await r.policy.machineScript(scriptReq(MAC))).body)), t1);
    // A second rendering after a reboot (a new DHCP exchange) revokes the first token.
    await r.policy.dhcpBoot(query(client('efi-x64', { isIpxe: true })));
    const t2 = tokenOf(String((await r.policy.machineScript(scriptReq(MAC))).body));
    assert.notEqual(t1, t2);
    const art = (token: string) => r.policy.tokenArtifact({ family: 'nocloud', token, name: 'user-data', clientAddress: '10.77.0.50' });
    assert.equal(await art(t1), null);
    let last = r.registry.eventList(MAC).at(-1);
    assert.deepEqual([last?.kind, last?.detail.outcome, last?.detail.route], ['token', 'revoked', 'nocloud/user-data']);
    assert.equal(await r.policy.phoneHome({ token: t1, body: { status: 'installed' }, clientAddress: 'x' }), null);
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting', 'a revoked token changes nothing');
    // Expiry.
    r.clock.advanceMinutes(241);
    assert.equal(await art(t2), null);
    last = r.registry.eventList(MAC).at(-1);
    assert.deepEqual([last?.kind, last?.detail.outcome], ['token', 'expired']);
    assert.equal(await r.policy.phoneHome({ token: t2, body: { status: 'installed' }, clientAddress: 'x' }), null);
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting');
    // Unknown and malformed tokens: 404, nothing recorded anywhere.
    const before = r.registry.eventListAll().length;
    for (const t of ['A'.repeat(43), '../../etc/passwd', '', 'x'.repeat(500), 'PREVIEW-TOKEN-NOT-LIVE']) {
      assert.equal(await art(t), null);
      assert.equal(await r.policy.phoneHome({ token: t, body: { status: 'installed' }, clientAddress: 'x' }), null);
    }
    assert.equal(r.registry.eventListAll().length, before);
  }),
);

void test(
  'phone-home: failure reports, bad bodies, and reinstall re-arms',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'ubu1' });
    const token = tokenOf(String((await r.policy.machineScript(scriptReq(MAC))).body));
    const post = (body: unknown) => r.policy.phoneHome({ token, body, clientAddress: '10.77.0.50' });
    for (const body of [null, [], 'installed', { status: 'done' }, { event_type: 'finish' }, { name: 'x' }, { event_type: 1, name: 'x' }, { event_type: 'finish', name: 'x', result: 5 }]) {
      assert.throws(() => post(body), (e: unknown) => isPxedError(e, 'BOOT_BAD_INPUT') && typeof e.details?.field === 'string', JSON.stringify(body));
    }
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting');
    // A FAIL outside subiquity/ (e.g. a curtin sub-step that subiquity retries) is progress, not failure.
    assert.deepEqual(await post({ event_type: 'finish', name: 'cmd-install/stage-partitioning', result: 'FAIL', origin: 'curtin' }), { state: 'installing' });
    assert.deepEqual(await post({ event_type: 'finish', name: 'subiquity/Install/install', result: 'FAIL', description: 'disk full' }), { state: 'failed' });
    const st = r.registry.eventList(MAC).filter((e) => e.kind === 'state').at(-1);
    assert.match(String(st?.detail.reason), /subiquity\/Install\/install failed: disk full/);
    assert.deepEqual(await post({ status: 'failed' }), { state: 'failed' }, 'repeat after failure is idempotent');
    // failed is hard: the next netboot is told so.
    assert.match(String((await r.policy.machineScript(scriptReq(MAC))).body), /last install failed/);
    assert.equal(r.registry.machineGet(MAC)?.state, 'failed');
    r.admin.reinstall(MAC);
    assert.equal(r.registry.machineGet(MAC)?.state, 'registered');
    assert.match(String((await r.policy.machineScript(scriptReq(MAC))).body), /^kernel /m);
  }),
);

void test(
  'an invalid generated artifact fails the install naming the field, and the error reaches HTTP',
  withRig(
    async (r) => {
      r.admin.create({ mac: MAC, host: 'badpkg' });
      const token = tokenOf(String((await r.policy.machineScript(scriptReq(MAC))).body));
      assert.throws(
        () => r.policy.tokenArtifact({ family: 'nocloud', token, name: 'user-data', clientAddress: '10.77.0.50' }),
        (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID'),
      );
      const m = r.registry.machineGet(MAC);
      assert.equal(m?.state, 'failed');
      const st = r.registry.eventList(MAC).filter((e) => e.kind === 'state').at(-1);
      assert.match(String(st?.detail.reason), /nocloud\/user-data is invalid \(packages\[0\]\)/);
      assert.equal(st?.detail.field, 'packages[0]');
    },
    {},
    [{ ...hostSpec('badpkg', 'ubuntu'), install: { ...hostSpec('badpkg', 'ubuntu').install, packages: ['bad;pkg'] } }],
  ),
);

void test(
  'watchdog: no progress for the configured time → stalled with the last event; a netboot revives it',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'ubu1' });
    const token = tokenOf(String((await r.policy.machineScript(scriptReq(MAC))).body));
    r.clock.advanceMinutes(20);
    await r.policy.tokenArtifact({ family: 'nocloud', token, name: 'user-data', clientAddress: '10.77.0.50' });
    r.clock.advanceMinutes(20);
    r.policy.assetServed('10.77.0.50', 'ubuntu/24.04/ubuntu.iso', 5, 206); // an event: progress
    r.clock.advanceMinutes(29);
    assert.deepEqual(r.watchdog.check(), [], '29 min after the last event');
    r.clock.advanceMinutes(1);
    assert.deepEqual(r.watchdog.check(), [MAC]);
    const m = r.registry.machineGet(MAC);
    assert.equal(m?.state, 'stalled');
    const st = r.registry.eventList(MAC).filter((e) => e.kind === 'state').at(-1);
    assert.match(String(st?.detail.reason), /no progress for 30 min while installing \(last event: asset\)/);
    assert.deepEqual(r.watchdog.check(), [], 'stalled is not watched again');
    // stalled is soft: a phone-home success still completes the install.
    assert.deepEqual(await r.policy.phoneHome({ token, body: { status: 'installed' }, clientAddress: '10.77.0.50' }), { state: 'installed' });
  }),
);

void test(
  'watchdog: a stalled machine that netboots goes back to booting',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'lab1' });
    await r.policy.dhcpBoot(query(client('bios')));
    r.clock.advanceMinutes(31);
    assert.deepEqual(r.watchdog.check(), [MAC]);
    await r.policy.dhcpBoot(query(client('bios')));
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting');
  }),
);

void test(
  'IP → MAC: DHCP observations and script requests put TFTP and asset events on the right machine',
  withRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'lab1' });
    r.policy.dhcpObserved({ mac: MAC, ip: '10.77.0.60', source: 'ciaddr' });
    assert.equal(r.registry.machineGet(MAC)?.ip, '10.77.0.60');
    r.policy.tftpTransferred({
      client: { address: '10.77.0.60', port: 2070 },
      path: 'snponly.efi',
      options: { blksize: '1468' },
      bytes: 200_000,
      durationMs: 120,
      outcome: 'complete',
    });
    const tftp = r.registry.eventList(MAC).filter((e) => e.kind === 'tftp');
    assert.equal(tftp.length, 1);
    assert.equal(tftp[0]?.detail.path, 'snponly.efi');
    assert.equal(tftp[0]?.detail.outcome, 'complete');
    // Unknown address: logged only.
    const before = r.registry.eventListAll().length;
    r.policy.tftpTransferred({ client: { address: '10.77.0.99', port: 1 }, path: 'x', options: {}, bytes: 0, durationMs: 1, outcome: 'not-found' });
    r.policy.assetServed('10.77.0.99', 'lab/vmlinuz', 10, 200);
    assert.equal(r.registry.eventListAll().length, before);
    assert.equal(await r.policy.tftpOpen('autoexec.ipxe', { address: '10.77.0.60', port: 1 }), null);
  }),
);

void test(
  'unknown and malformed MACs in /ipxe/:mac get echo + exit and change nothing',
  withRig(async (r) => {
    for (const mac of ['52:54:00:00:00:99', 'not-a-mac', '${net0/mac}', 'aa:bb\nboot']) {
      const body = String((await r.policy.machineScript(scriptReq(mac))).body);
      assert.match(body, /^#!ipxe\n/);
      assert.match(body, /^exit$/m);
      assert.doesNotMatch(body, /\$\{|\nboot/);
    }
    assert.equal(r.registry.eventListAll().length, 0);
  }),
);
