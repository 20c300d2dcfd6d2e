// The reference the boot storm is compared with: dnsmasq (proxy-DHCP with PXE services, :4011, TFTP) and nginx
// (static files) serving the same files at the same URLs as pxed. nginx has no per-machine logic: each machine's
// script, user-data and meta-data are static files written here (with a fixed per-machine "token" path), and the
// phone-home endpoint answers 200 without recording anything. Runs in the storm's server namespace on the pxed
// address (one after the other, never both at once).

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../test/helpers/netns.js';
import { HTTP_PORT, type StormFiles } from '../../test/storm/daemon.js';
import { STORM_NET, type StormNet } from '../../test/storm/net.js';
import { machineMac } from '../../test/storm/rack.js';

const S = `http://${STORM_NET.server}:${HTTP_PORT}`;

/** Static copies of what pxed renders, per machine. */
export function writeReferenceSite(files: StormFiles, machines: number): string {
  const www = path.join(files.dir, 'www');
  const mk = (rel: string, body: string): void => {
    const f = path.join(www, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true, mode: 0o755 });
    fs.writeFileSync(f, body, { mode: 0o644 });
  };
  mk('boot.ipxe', `#!ipxe\nchain --autofree ${S}/ipxe/\${netX/mac:hexhyp}?arch=\${buildarch:uristring}&platform=\${platform:uristring}\n`);
  for (let i = 0; i < machines; i++) {
    const mac = machineMac(i);
    const token = `ref${String(i).padStart(6, '0')}`;
    mk(
      `ipxe/${mac.replace(/:/g, '-')}`,
      `#!ipxe\nkernel ${S}/assets/ubuntu/24.04/vmlinuz initrd=initrd ip=dhcp autoinstall ds=nocloud;s=${S}/nocloud/${token}/ ---\ninitrd ${S}/assets/ubuntu/24.04/initrd\nboot\n`,
    );
    mk(`nocloud/${token}/user-data`, `#cloud-config\nautoinstall:\n  version: 1\n  reporting:\n    ref:\n      type: webhook\n      endpoint: ${S}/api/v1/boot/${token}/events\n`);
    mk(`nocloud/${token}/meta-data`, `instance-id: ${token}\n`);
  }
  return www;
}

export function nginxConf(dir: string, www: string, assets: string): string {
  return [
    'worker_processes 1;',
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/nginx-error.log warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  default_type application/octet-stream;',
    `  client_body_temp_path ${dir}/nginx-body;`,
    `  proxy_temp_path ${dir}/nginx-proxy;`,
    `  fastcgi_temp_path ${dir}/nginx-fcgi;`,
    `  uwsgi_temp_path ${dir}/nginx-uwsgi;`,
    `  scgi_temp_path ${dir}/nginx-scgi;`,
    `  server {`,
    `    listen ${STORM_NET.server}:${HTTP_PORT};`,
    `    root ${www};`,
    `    location /assets/ { alias ${assets}/; }`,
    `    location /api/ { return 200 '{"state":"ok"}'; }`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface Reference {
  dnsmasq: ChildProcess;
  nginx: ChildProcess;
}

export async function startReference(net: StormNet, files: StormFiles, machines: number): Promise<Reference> {
  const www = writeReferenceSite(files, machines);
  const conf = path.join(files.dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConf(files.dir, www, files.assetRoot));
  const nginx = net.srv.spawn('nginx', ['-p', files.dir, '-c', conf, '-e', path.join(files.dir, 'nginx-error.log')]);
  nginx.stdout!.resume();
  nginx.stderr!.resume();
  // Basenames with a dot: dnsmasq then sends them as they are (no ".0" layer suffix).
  const dnsmasq = net.srv.spawn('dnsmasq', [
    '-k', '-C', '/dev/null', '--port=0', '--user=root', '--interface=eth0', '--bind-interfaces', '--pid-file=',
    '--log-facility=/dev/null', '--dhcp-leasefile=/dev/null',
    `--dhcp-range=${STORM_NET.server.replace(/\.\d+\.\d+$/, '.0.0')},proxy,255.255.0.0`,
    '--dhcp-userclass=set:ipxe,iPXE',
    '--pxe-service=tag:!ipxe,x86PC,boot,undionly.kpxe',
    '--pxe-service=tag:!ipxe,X86-64_EFI,boot,snponly.efi',
    `--pxe-service=tag:ipxe,x86PC,iPXE,${S}/boot.ipxe`,
    `--pxe-service=tag:ipxe,X86-64_EFI,iPXE,${S}/boot.ipxe`,
    '--enable-tftp', `--tftp-root=${files.tftpRoot}`, `--tftp-max=${Math.max(200, machines)}`,
  ]);
  dnsmasq.stdout!.resume();
  dnsmasq.stderr!.resume();
  await waitFor('dnsmasq and nginx listening', () => {
    const ss = net.srv.exec('ss', ['-lnu'], { allowFail: true }) + net.srv.exec('ss', ['-lnt'], { allowFail: true });
    return ss.includes(':67 ') && ss.includes(':69 ') && ss.includes(`:${HTTP_PORT} `);
  }, 10_000, 100);
  return { dnsmasq, nginx };
}
