// Test fixture process: runs a DhcpService inside a network namespace with a small fake boot policy, and prints one
// JSON line per thing it did on stdout ({ev:'ready'|'boot'|'observed'|'stats'|'fatal'|'error', ...}).
// Usage: node responder.js '<json RunnerConfig>'. SIGTERM stops it; on SIGUSR2 it prints its stats.
import { DhcpService, type Reservation } from '../../../src/dhcp/server.js';
import { createLogger } from '../../../src/log.js';
import { openRegistry } from '../../../src/registry/sqlite.js';
import type { DhcpBootAnswer, DhcpBootPort, DhcpBootQuery, UefiStrategy } from '../../../src/dhcp/ports.js';
import { describeError } from '../../../src/errors.js';

export interface RunnerConfig {
  interface?: string;
  address?: string;
  mode?: 'proxy' | 'full';
  /** MAC -> per-machine overrides; MACs not listed get no boot answer (null). '*' matches every MAC. */
  registered: Record<string, { efiBinary?: string; strategy?: UefiStrategy; throws?: boolean }>;
  /** Full mode only. */
  full?: {
    poolStart: string;
    poolEnd: string;
    router?: string;
    dns?: string[];
    domain?: string;
    leaseSeconds?: number;
    dbPath: string;
    reservations?: Reservation[];
    probeTimeoutMs?: number;
  };
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

const out = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

const cfg = JSON.parse(process.argv[2] ?? '{}') as RunnerConfig;

// The fake policy follows docs/protocol.md §4.3 the way the real one will: iPXE -> script URL, HTTP -> URL, BIOS ->
// undionly.kpxe, UEFI -> snponly.efi (or the override).
function answer(q: DhcpBootQuery): DhcpBootAnswer | null {
  const m = cfg.registered[q.client.mac] ?? cfg.registered['*'];
  if (!m) {
    out({ ev: 'boot', mac: q.client.mac, stage: q.stage, answer: null });
    return null;
  }
  if (m.throws) {
    out({ ev: 'boot', mac: q.client.mac, stage: q.stage, threw: true });
    throw new Error('policy failure (test)');
  }
  const ip = q.serverAddress;
  const dir: Record<string, string> = { 'efi-x64': 'x86_64', 'efi-arm64': 'arm64', 'efi-ia32': 'i386', 'efi-arm32': 'arm32' };
  let bootFile: string;
  const c = q.client;
  if (c.isIpxe) bootFile = `http://${ip}:8080/boot.ipxe?mac=${c.mac}`;
  else if (c.isHttpClient || c.firmware.endsWith('-http')) bootFile = `http://${ip}/boot/${c.firmware}/snponly.efi`;
  else if (c.firmware === 'bios') bootFile = 'undionly.kpxe';
  else bootFile = `${dir[c.firmware] ?? c.firmware}/${m.efiBinary ?? 'snponly.efi'}`;
  const a: DhcpBootAnswer = { bootFile, nextServer: ip, strategy: m.strategy ?? 'binl' };
  out({ ev: 'boot', mac: c.mac, stage: q.stage, arch: c.arch, firmware: c.firmware, isIpxe: c.isIpxe, answer: a });
  return a;
}

const policy: DhcpBootPort = {
  dhcpBoot: answer,
  dhcpObserved(obs) {
    out({ ev: 'observed', ...obs });
  },
};

const log = createLogger({ level: cfg.logLevel ?? 'warn' });
const registry = cfg.full ? openRegistry(cfg.full.dbPath) : null;
const service = new DhcpService({
  interface: cfg.interface,
  address: cfg.address,
  mode: cfg.mode ?? 'proxy',
  policy,
  log,
  full: cfg.full && registry
    ? {
        poolStart: cfg.full.poolStart,
        poolEnd: cfg.full.poolEnd,
        router: cfg.full.router,
        dns: cfg.full.dns,
        domain: cfg.full.domain,
        leaseSeconds: cfg.full.leaseSeconds,
        leases: registry,
        reservations: () => cfg.full?.reservations ?? [],
        probeTimeoutMs: cfg.full.probeTimeoutMs,
      }
    : undefined,
  onFatal: (err) => {
    out({ ev: 'fatal', err: describeError(err) });
    process.exit(3);
  },
});

process.on('unhandledRejection', (err) => {
  out({ ev: 'unhandledRejection', err: describeError(err) });
  process.exit(4);
});
process.on('uncaughtException', (err) => {
  out({ ev: 'uncaughtException', err: describeError(err) });
  process.exit(5);
});
process.on('SIGUSR2', () => out({ ev: 'stats', ...service.stats() }));
process.on('SIGTERM', () => {
  void service.stop().then(() => {
    registry?.close();
    process.exit(0);
  });
});

try {
  await service.start();
  out({ ev: 'ready', address: service.address });
} catch (err) {
  out({ ev: 'error', err: describeError(err), code: (err as { code?: string }).code });
  registry?.close();
  process.exit(2);
}
