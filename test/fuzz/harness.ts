// Fuzz targets over the daemon's real services (buildApp: real boot policy and registry, DHCP proxy + :4011, TFTP,
// HTTP), built in this process on 127.0.0.1 with OS-chosen ports:
// - DHCP: each input goes straight into the service's packet handler (the function its sockets call), for volume;
//   replies are encoded but never sent (a mutated packet names arbitrary addresses).
// - TFTP: datagrams over loopback to the listener and to live transfer ports (a real RRQ opens one now and then).
// - HTTP: requests through fastify's inject (method, URL, headers, body mutated from real requests), 8 in flight.
// A finding is an exception other than the protocol's "malformed" error, an HTTP 500 HTTP_INTERNAL, an input that
// takes longer than HANG_MS, or an uncaught exception/unhandled rejection while fuzzing; its input is saved under
// test/artifacts/fuzz/.

import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type App } from '../../src/app.js';
import { daemonConfigSchema } from '../../src/config/daemon.js';
import { loadProvisioning } from '../../src/config/load.js';
import { isPxedError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { DhcpContext } from '../../src/dhcp/context.js';
import type { DhcpReply } from '../../src/dhcp/respond.js';
import { encode as dhcpEncode } from '../../src/dhcp/codec.js';
import { artifactsDir } from '../helpers/paths.js';

export const HANG_MS = 2000;

export interface Finding {
  protocol: string;
  index: number;
  what: string;
  file: string;
}

export class FuzzApp {
  readonly findings: Finding[] = [];
  private constructor(
    readonly app: App,
    readonly dir: string,
  ) {}

  static async start(dir: string): Promise<FuzzApp> {
    const prov = path.join(dir, 'provisioning');
    const config = daemonConfigSchema.parse({
      server: { address: '127.0.0.1' },
      admin: { token_file: path.join(dir, 'admin.token') },
      http: { listen: '127.0.0.1', port: 0, asset_roots: [path.join(dir, 'assets')] },
      tftp: { enabled: true, port: 0, roots: [path.join(dir, 'tftp')], timeout_ms: 200, retries: 1 },
      dhcp: { enabled: true, port: 0, boot_server_port: 0 },
      registry: { database: path.join(dir, 'fuzz.db') },
      policy: { unknown_macs: 'discover' },
    });
    const provisioning = await loadProvisioning({ defaults: path.join(prov, 'defaults.yaml'), vmSpecs: path.join(prov, 'vm_specs.yaml'), installConfig: path.join(prov, 'install_config.yaml') });
    const interfaces = { lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '127.0.0.1/8' }] };
    const app = await buildApp({ config, provisioning, logger: silentLogger, interfaces: interfaces as never });
    await app.start();
    // Replies are encoded as the service would, never sent: mutated packets name arbitrary addresses.
    Object.defineProperty(app.dhcp!, 'send', { value: (r: DhcpReply) => (Buffer.isBuffer(r.packet) ? r.packet : dhcpEncode(r.packet)) });
    return new FuzzApp(app, dir);
  }

  get adminToken(): string {
    return fs.readFileSync(path.join(this.dir, 'admin.token'), 'utf8').trim();
  }

  /** The DHCP service's own per-datagram handler (what its sockets call, minus the catch-all). */
  dhcpHandle(via: 'rx' | 'boot', msg: Buffer): void {
    const svc = this.app.dhcp as unknown as { ctx: DhcpContext; handle(ctx: DhcpContext, via: string, msg: Buffer, rinfo: dgram.RemoteInfo): void };
    svc.handle(svc.ctx, via, msg, { address: '10.88.1.7', port: via === 'boot' ? 4011 : 68, family: 'IPv4', size: msg.length });
  }

  get http(): FastifyInstance {
    return (this.app.http as unknown as { app: FastifyInstance }).app;
  }

  record(protocol: string, index: number, what: string, input: Buffer | string): Finding {
    const out = path.join(artifactsDir, 'fuzz');
    fs.mkdirSync(out, { recursive: true });
    const file = path.join(out, `${protocol}-${process.pid}-${index}.${typeof input === 'string' ? 'json' : 'bin'}`);
    fs.writeFileSync(file, input);
    fs.writeFileSync(`${file}.txt`, `${what}\n`);
    const f = { protocol, index, what, file };
    this.findings.push(f);
    return f;
  }

  async stop(): Promise<void> {
    await this.app.stop(5000);
  }
}

/** Expected failures of a decoder: the protocol's own "malformed" errors. */
export function isMalformed(err: unknown): boolean {
  return isPxedError(err, 'DHCP_MALFORMED') || isPxedError(err, 'TFTP_MALFORMED');
}
