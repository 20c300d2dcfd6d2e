// The signed Secure Boot chain through the policy seam: DHCP boot file, the TFTP names shim and GRUB ask for,
// per-MAC grub.cfg with the same install (token, phone-home) as the iPXE path, timeline stages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isPxedError } from '../../src/errors.js';
import { hashToken } from '../../src/boot/tokens.js';
import type { BootEvent } from '../../src/model/events.js';
import { secureBootProgress } from '../../src/model/secure-boot.js';
import { MAC, client, hostSpec, query, rig, type Rig } from './fixtures.js';

const TFTP_CLIENT = { address: '10.77.0.150', port: 1234 };

type GrubCfgEvent = Extract<BootEvent, { kind: 'grub-cfg' }>;
const grubCfgEvents = (events: BootEvent[]): GrubCfgEvent[] => events.filter((e): e is GrubCfgEvent => e.kind === 'grub-cfg');

async function readAll(s: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function dirs(): { signed: string; assets: string; cleanup(): void } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-signed-'));
  const signed = path.join(base, 'signed');
  const assets = path.join(base, 'assets');
  fs.mkdirSync(signed);
  fs.mkdirSync(path.join(assets, 'lab'), { recursive: true });
  fs.writeFileSync(path.join(signed, 'shimx64.efi.signed'), 'SHIM');
  fs.writeFileSync(path.join(signed, 'grubnetx64.efi.signed'), 'GRUB');
  fs.writeFileSync(path.join(signed, 'grubaa64.efi'), 'GRUB-AA64');
  fs.writeFileSync(path.join(assets, 'lab', 'vmlinuz'), 'KERNEL');
  // Ubuntu's netboot tarball layout: amd64/bootx64.efi (shim) and amd64/grubx64.efi.
  fs.mkdirSync(path.join(assets, 'ubuntu', 'netboot', 'amd64'), { recursive: true });
  fs.writeFileSync(path.join(assets, 'ubuntu', 'netboot', 'amd64', 'bootx64.efi'), 'UBUNTU-SHIM');
  fs.writeFileSync(path.join(assets, 'ubuntu', 'netboot', 'amd64', 'grubx64.efi'), 'UBUNTU-GRUB');
  fs.writeFileSync(path.join(base, 'secret'), 'SECRET');
  return { signed, assets, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

/** A signed-chain host whose command line has a quoted argument with spaces (NixOS's systemd.run form). */
const quotedArgs = (() => {
  const h = structuredClone(hostSpec('quo1', 'custom', { pxe: { efi_binary: null, uefi_strategy: null, boot_chain: 'signed' } }));
  h.install.custom!.cmdline = 'console=ttyS0 systemd.run="/bin/echo a b" pxed.phone_home={{ phone_home_url }}';
  return h;
})();

function withSignedRig(fn: (r: Rig) => Promise<void>, bootChain: 'ipxe' | 'signed' = 'ipxe') {
  return async () => {
    const d = dirs();
    const hosts = [
      hostSpec('lab1', 'custom'),
      hostSpec('sec1', 'custom', { pxe: { efi_binary: null, uefi_strategy: null, boot_chain: 'signed' } }),
      hostSpec('ubu1', 'custom', { pxe: { efi_binary: null, uefi_strategy: null, boot_chain: 'signed', signed_loaders: 'ubuntu/netboot/amd64' } }),
      quotedArgs,
    ];
    const r = rig({ bootChain, signed: { roots: [d.signed], assetRoots: [d.assets] } }, hosts);
    try {
      await fn(r);
    } finally {
      r.close();
      d.cleanup();
    }
  };
}

void test(
  'DHCP: signed chain gives UEFI x64/ARM64 PXE the shim; BIOS, iPXE, HTTP boot and IA32 keep iPXE; overrides win',
  withSignedRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'sec1' });
    assert.equal(r.policy.dhcpBoot(query(client('efi-x64')))?.bootFile, 'shimx64.efi');
    assert.equal(r.policy.dhcpBoot(query(client('bios')))?.bootFile, 'undionly.kpxe');
    assert.equal(r.policy.dhcpBoot(query(client('efi-x64', { isIpxe: true })))?.bootFile, 'http://10.77.0.2:8080/boot.ipxe');
    assert.equal(r.policy.dhcpBoot(query(client('efi-arm64')))?.bootFile, 'shimaa64.efi');
    assert.equal(r.policy.dhcpBoot(query(client('efi-ia32')))?.bootFile, 'i386/snponly.efi');
    assert.equal(r.policy.dhcpBoot(query(client('efi-x64-http')))?.bootFile, 'http://10.77.0.2:8080/assets/ipxe/snponly.efi');
    r.admin.update(MAC, { overrides: { bootChain: 'ipxe' } });
    assert.equal(r.policy.dhcpBoot(query(client('efi-x64')))?.bootFile, 'snponly.efi');
    assert.throws(
      () => r.admin.update(MAC, { overrides: { bootChain: 'unsigned' as 'ipxe' } }),
      (err: unknown) => isPxedError(err) && err.details?.field === 'overrides.bootChain',
    );
  }),
);

void test(
  'DHCP: defaults.pxe-level chain (daemon default) applies to hosts without their own',
  withSignedRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'lab1' });
    assert.equal(r.policy.dhcpBoot(query(client('efi-x64')))?.bootFile, 'shimx64.efi');
  }, 'signed'),
);

void test(
  'TFTP: shim, GRUB, the chain stub and assets by the names the loaders ask for; other names fall through',
  withSignedRig(async (r) => {
    const open = (n: string) => r.policy.tftpOpen(n, TFTP_CLIENT);
    assert.equal(await readAll((await open('shimx64.efi'))!.stream), 'SHIM');
    assert.equal(await readAll((await open('grubx64.efi'))!.stream), 'GRUB');
    assert.equal(await readAll((await open('grubaa64.efi'))!.stream), 'GRUB-AA64', 'plain names for operator-filled roots');
    assert.equal(await open('shimaa64.efi'), null, 'no ARM64 shim in these roots');
    const stub = (await open('grub/grub.cfg'))!;
    assert.match(await readAll(stub.stream), /configfile "\$\{prefix\}\/grub\.cfg-01-\$\{net_default_mac\}"/);
    assert.equal(await readAll((await open('pxed/assets/lab/vmlinuz'))!.stream), 'KERNEL');
    assert.equal(await open('pxed/assets/lab/missing'), null);
    assert.equal(await open('grub/x86_64-efi/command.lst'), null);
    assert.equal(await open('revocations_sbat.efi'), null);
    assert.equal(await open('snponly.efi'), null);
    for (const hostile of ['constructor', '__proto__', 'toString', 'grub/grub.cfg-01-../../x', 'grub/grub.cfg-01-${x}']) {
      assert.equal(await open(hostile), null, hostile);
    }
    await assert.rejects(open('pxed/assets/../secret'), (err: unknown) => isPxedError(err, 'TFTP_ACCESS_DENIED'));
    // Unknown machine: its per-MAC config does not exist.
    assert.equal(await open('grub/grub.cfg-01-52:54:00:00:00:01'), null);
  }),
);

void test(
  'TFTP: per-MAC grub.cfg arms the boot like /ipxe/<mac> and carries the same install command line',
  withSignedRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'sec1' });
    const got = (await r.policy.tftpOpen(`grub/grub.cfg-01-${MAC}`, TFTP_CLIENT))!;
    const cfg = await readAll(got.stream);
    assert.equal(got.size, Buffer.byteLength(cfg));
    assert.match(cfg, /^linux '\/pxed\/assets\/lab\/vmlinuz' 'console=ttyS0,115200' 'pxed\.phone_home=http:\/\/10\.77\.0\.2:8080\/api\/v1\/boot\/[A-Za-z0-9_-]{43}\/events'/m);
    assert.match(cfg, /^initrd '\/pxed\/assets\/lab\/initrd\.gz'$/m);
    const token = /boot\/([A-Za-z0-9_-]{43})\/events/.exec(cfg)![1]!;
    assert.ok(r.registry.tokenGet(hashToken(token)), 'token stored');
    assert.equal(r.registry.machineGet(MAC)?.state, 'booting');
    const ev = grubCfgEvents(r.registry.eventList(MAC));
    assert.equal(ev.at(-1)?.detail.variant, 'install');
    assert.equal(typeof ev.at(-1)?.detail.bootId, 'string');
    // The phone-home with that token works as on the iPXE path.
    assert.deepEqual(r.policy.phoneHome({ token, body: { status: 'installed' }, clientAddress: '10.77.0.150' }), { state: 'installed' });
    // Installed, mode once: the next config boots from disk.
    const next = await readAll((await r.policy.tftpOpen(`grub/grub.cfg-01-${MAC.replace(/:/g, '-')}`, TFTP_CLIENT))!.stream);
    assert.match(next, /is_installed.*\nexit\n$/);
    assert.equal(grubCfgEvents(r.registry.eventList(MAC)).at(-1)?.detail.variant, 'local-boot');
  }),
);

void test(
  'TFTP: a quoted argument with spaces stays one argument: one GRUB word without its quotes (GRUB re-quotes it)',
  withSignedRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'quo1' });
    const cfg = await readAll((await r.policy.tftpOpen(`grub/grub.cfg-01-${MAC}`, TFTP_CLIENT))!.stream);
    assert.match(cfg, /^linux '\/pxed\/assets\/lab\/vmlinuz' 'console=ttyS0' 'systemd\.run=\/bin\/echo a b' 'pxed\.phone_home=http:\/\/10\.77\.0\.2:8080\/api\/v1\/boot\/[A-Za-z0-9_-]{43}\/events'$/m);
    assert.equal(grubCfgEvents(r.registry.eventList(MAC)).at(-1)?.detail.variant, 'install');
  }),
);

void test(
  'TFTP transfers are put on the timeline with the Secure Boot stage they stand for',
  withSignedRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'sec1' });
    assert.equal(r.policy.dhcpBoot(query(client('efi-x64')))?.bootFile, 'shimx64.efi');
    r.policy.dhcpObserved({ mac: MAC, ip: TFTP_CLIENT.address, source: 'ciaddr' });
    const report = (p: string) =>
      r.policy.tftpTransferred({ client: TFTP_CLIENT, path: p, options: {}, bytes: 10, durationMs: 1, outcome: 'complete' });
    for (const p of ['shimx64.efi', 'grubx64.efi', 'grub/grub.cfg', `grub/grub.cfg-01-${MAC}`, 'pxed/assets/lab/vmlinuz', 'grub/x86_64-efi/fs.lst']) report(p);
    const stages = r.registry.eventList(MAC).flatMap((e) => (e.kind === 'tftp' ? [e.detail.secureBootStage ?? null] : []));
    assert.deepEqual(stages, ['shim', 'grub', 'grub.cfg', 'grub.cfg', 'kernel', null]);
    // A kernel the shim refuses: the boot ends there, and the timeline says so.
    assert.equal(secureBootProgress(r.registry.eventList(MAC))?.sentence, 'stopped after GRUB fetched the kernel');
    r.clock.advanceMinutes(31);
    assert.deepEqual(r.watchdog.check(), [MAC]);
    const stalled = r.registry.eventList(MAC).at(-1);
    assert.equal(stalled?.kind, 'state');
    assert.match(stalled?.kind === 'state' ? stalled.detail.reason : '', /Secure Boot chain stopped after GRUB fetched the kernel\)$/);
    assert.equal(stalled?.detail.secureBootStage, 'kernel');
  }),
);

void test(
  'TFTP: a host with pxe.signed_loaders gets its OS’s own shim and GRUB from the asset roots, others Debian’s',
  withSignedRig(async (r) => {
    const other = { address: '10.77.0.151', port: 1234 };
    r.admin.create({ mac: MAC, host: 'ubu1' });
    r.policy.dhcpObserved({ mac: MAC, ip: TFTP_CLIENT.address, source: 'ciaddr' });
    const open = async (n: string, c = TFTP_CLIENT) => {
      const got = await r.policy.tftpOpen(n, c);
      return got === null ? null : readAll(got.stream);
    };
    assert.equal(await open('shimx64.efi'), 'UBUNTU-SHIM');
    assert.equal(await open('grubx64.efi'), 'UBUNTU-GRUB');
    assert.equal(await open('shimaa64.efi'), null, 'only that directory: no fallback to another vendor');
    assert.equal(await open('shimx64.efi', other), 'SHIM', 'an address pxed cannot attribute gets the signed roots');
  }),
);

void test(
  'TFTP: the install guard covers grub.cfg — a retransmitted request gets the same config, another address a refusal',
  withSignedRig(async (r) => {
    r.admin.create({ mac: MAC, host: 'sec1' });
    assert.equal(r.policy.dhcpBoot(query(client('efi-x64')))?.bootFile, 'shimx64.efi');
    const cfgName = `grub/grub.cfg-01-${MAC}`;
    const first = await readAll((await r.policy.tftpOpen(cfgName, TFTP_CLIENT))!.stream);
    const again = await readAll((await r.policy.tftpOpen(cfgName, TFTP_CLIENT))!.stream);
    assert.equal(again, first, 'same token: the running install is not re-armed by a repeated RRQ');
    const other = await readAll((await r.policy.tftpOpen(cfgName, { address: '10.77.0.99', port: 1 }))!.stream);
    assert.doesNotMatch(other, /^linux /m);
    assert.match(other, /pxed/);
    const refused = grubCfgEvents(r.registry.eventList(MAC)).filter((e) => e.detail.variant === 'refused');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.detail.reason, 'install-in-progress');
    // A new DHCP exchange (a real reboot) lets the next fetch re-arm it with a new token.
    r.policy.dhcpBoot(query(client('efi-x64')));
    const next = await readAll((await r.policy.tftpOpen(cfgName, TFTP_CLIENT))!.stream);
    assert.notEqual(next, first);
    assert.match(next, /^linux /m);
  }),
);
