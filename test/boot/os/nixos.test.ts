import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isPxedError } from '../../../src/errors.js';
import { createNixosProfile, loadNetbootIpxe, loadNixosTemplates, parseNetbootIpxe } from '../../../src/boot/os/index.js';
import { fixtures } from '../../helpers/paths.js';
import { ASSET_ROOT, SERVER_URL, TOKEN, ctxFor, exampleProvisioning, variant } from './helpers.js';
import { nixEvalConfig, nixParse, shHeaderValues, shellChecks } from './nixtools.js';
import { nixosInstallerArgs } from '../../../src/boot/os/nixos.js';

const SAMPLE = readFileSync(fixtures('os', 'assets', 'nixos', '25.05', 'netboot.ipxe'), 'utf8');
const INIT = '/nix/store/1q7vpmlb4ly2m1r9rzxc0lgrdq4y9mdi-nixos-system-nixos-installer-25.05.20250612.c2a0396/init';

void test('parseNetbootIpxe: the nixpkgs netboot.ipxe gives init=, the build params and the image names', () => {
  assert.deepEqual(parseNetbootIpxe(SAMPLE), { kernel: 'bzImage', init: INIT, params: ['nohibernate', 'loglevel=4', 'lsm=landlock,yama,bpf'], initrds: ['initrd'] });
  // aarch64 (Image) and nixos-images style (absolute URLs, named initrd).
  const arm = [
    '#!ipxe',
    `kernel https://example.invalid/Image-aarch64-linux init=${INIT} initrd=initrd-aarch64-linux nohibernate loglevel=4 \${cmdline}`,
    'initrd --name initrd-aarch64-linux https://example.invalid/initrd-aarch64-linux',
    'boot',
  ].join('\r\n');
  assert.deepEqual(parseNetbootIpxe(arm), {
    kernel: 'https://example.invalid/Image-aarch64-linux',
    init: INIT,
    params: ['nohibernate', 'loglevel=4'],
    initrds: ['https://example.invalid/initrd-aarch64-linux'],
  });
});

void test('parseNetbootIpxe: no kernel line, no or odd init= are ARTIFACT_INVALID', () => {
  const bad = (text: string) =>
    assert.throws(() => parseNetbootIpxe(text), (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID') && e.details?.field === 'netboot.ipxe', text);
  bad('#!ipxe\nboot\n');
  bad('#!ipxe\nkernel bzImage initrd=initrd\n');
  bad('#!ipxe\nkernel bzImage init=/nix/store/short-nixos/init\n');
  bad(`#!ipxe\nkernel bzImage init=${INIT};reboot\n`);
  bad(`#!ipxe\nkernel bzImage init=${INIT} "quoted"\n`);
});

void test('install boot: kernel and initrd from the catalog, init= from the local netboot.ipxe, systemd.run= fetching install.sh', async () => {
  const prov = await exampleProvisioning();
  const ci = prov.hostByName('ci-runner-01')!;
  const { byVersion, missing } = await loadNetbootIpxe(prov.defaults.images, ['/nonexistent', ASSET_ROOT]);
  assert.deepEqual(missing, []);
  const p = createNixosProfile({ netboot: byVersion, templates: loadNixosTemplates(), extraArgs: ['console=ttyS0,115200n8'] });
  const boot = p.renderInstall(ci, ctxFor(ci));
  assert.equal(boot.cmdline, `init=${INIT} nohibernate loglevel=4 lsm=landlock,yama,bpf ${nixosInstallerArgs(`${SERVER_URL}/nixos/${TOKEN}/install.sh`).join(' ')} console=ttyS0,115200n8`);
  const none = createNixosProfile({ netboot: new Map(), templates: loadNixosTemplates() });
  assert.throws(
    () => none.renderInstall(ci, ctxFor(ci)),
    (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID') && e.details?.field === 'netboot.ipxe' && /nixos\/25\.05\/netboot\.ipxe/.test(e.message),
  );
});

void test('every .nix parses with nix-instantiate --parse', () => {
  const t = loadNixosTemplates();
  nixParse(t.configurationNix);
  nixParse(readFileSync(fixtures('os', 'nix', 'eval-config.nix'), 'utf8'));
});

void test('install.sh passes sh -n and shellcheck (default, lvm+swap, BIOS-style disk paths)', async () => {
  const prov = await exampleProvisioning();
  const ci = prov.hostByName('ci-runner-01')!;
  const p = createNixosProfile({ netboot: new Map(), templates: loadNixosTemplates() });
  const variants = [
    ci,
    variant(ci, (h) => {
      h.install.partitioning = { layout: 'lvm', disk: null, swap_mb: 4096 };
    }),
    variant(ci, (h) => {
      h.install.partitioning = { layout: 'direct', disk: '/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64', swap_mb: 2048 };
    }),
  ];
  for (const h of variants) {
    const script = String(p.renderArtifact('nixos', 'install.sh', h, ctxFor(h))!.body);
    assert.match(script, /^#!\/bin\/sh\n/);
    assert.match(script, /\nset -eu\n/);
    shellChecks(script);
    const [disk, layout, swap] = shHeaderValues(script, ['PXED_DISK', 'PXED_LAYOUT', 'PXED_SWAP_MB']);
    assert.deepEqual([disk, layout, swap], [h.install.partitioning.disk ?? '', h.install.partitioning.layout, String(h.install.partitioning.swap_mb ?? 0)]);
  }
});

void test('configuration.nix + host.json evaluate to the host data (stub lib/pkgs)', async () => {
  const prov = await exampleProvisioning();
  const ci = prov.hostByName('ci-runner-01')!;
  const p = createNixosProfile({ netboot: new Map(), templates: loadNixosTemplates() });
  const host = variant(ci, (h) => {
    h.install.users[0]!.password_hash = '$6$salt$hash';
    h.install.users[1]!.shell = '/run/current-system/sw/bin/zsh';
    h.install.network = { ...h.install.network, dhcp: false, address_cidr: '192.0.2.30/24', gateway: '192.0.2.1', dns: ['192.0.2.53'] };
    h.install.docker = true;
    h.install.nix_services = ['openssh', 'prometheus.exporters.node'];
    h.install.version = 'unstable';
  });
  const ctx = ctxFor(host);
  const out = nixEvalConfig(
    String(p.renderArtifact('nixos', 'configuration.nix', host, ctx)!.body),
    String(p.renderArtifact('nixos', 'host.json', host, ctx)!.body),
    { efi: false, disk: '/dev/vda' },
  );
  const [main, ...services] = out.config as [Record<string, any>, ...Array<Record<string, unknown>>]; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(main.boot.loader, { grub: { enable: true, device: '/dev/vda' } });
  assert.equal(main.networking.hostName, 'ci-runner-01');
  assert.equal(main.networking.domain, 'example.org');
  assert.deepEqual(main.users.users.ops, {
    isNormalUser: true,
    shell: 'pkg:bashInteractive',
    extraGroups: ['wheel', 'docker'],
    openssh: { authorizedKeys: { keys: ci.install.users[0]!.ssh_authorized_keys } },
    hashedPassword: '$6$salt$hash',
  });
  assert.equal(main.users.users.ci.shell, 'pkg:zsh');
  assert.equal(main.programs.zsh.enable, true);
  assert.equal(main.security.sudo.wheelNeedsPassword, true);
  assert.equal(main.virtualisation.docker.enable, true);
  assert.deepEqual(main.environment.systemPackages, ['pkg:git', 'pkg:curl', 'pkg:jq']);
  assert.equal(main.system.stateVersion, 'installer-release');
  const net = main.systemd.network.networks['30-pxed-nic0'];
  assert.deepEqual(net.matchConfig, { MACAddress: '52:54:00:12:34:02', Type: 'ether' });
  assert.deepEqual(net.address, ['192.0.2.30/24']);
  assert.deepEqual(net.gateway, ['192.0.2.1']);
  assert.deepEqual(net.networkConfig, { DHCP: 'no' });
  assert.deepEqual(services, [{ services: { openssh: { enable: true } } }, { services: { prometheus: { exporters: { node: { enable: true } } } } }]);
});
