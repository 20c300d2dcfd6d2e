// pxed's DhcpService for the benchmark: proxy mode on eth0, a policy that boots every MAC (like the dnsmasq
// reference, which answers every PXE client). Synchronous, like the seam (src/dhcp/ports.ts). Prints "ready" and
// runs until SIGTERM.
import { DhcpService } from '../../src/dhcp/server.js';
import { createLogger } from '../../src/log.js';
import type { DhcpBootAnswer, DhcpBootPort, DhcpBootQuery } from '../../src/dhcp/ports.js';

const answer = (q: DhcpBootQuery): DhcpBootAnswer => ({ bootFile: q.client.firmware === 'bios' ? 'undionly.kpxe' : 'snponly.efi', nextServer: q.serverAddress, strategy: 'binl' });
const policy: DhcpBootPort = {
  dhcpBoot: answer,
  dhcpObserved: () => undefined,
};
const svc = new DhcpService({ interface: 'eth0', policy, log: createLogger({ level: 'warn' }), onFatal: () => process.exit(3) });
await svc.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void svc.stop().then(() => process.exit(0)));
