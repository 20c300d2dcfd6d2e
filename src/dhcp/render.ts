// A stable, human-readable rendering of a decoded packet: golden files in tests and `debug` logs. Pure.

import { decodeSubOptions, MSG_NAMES, OPT, userClasses, type DhcpPacket } from './codec.js';

const NAMES: Record<number, string> = {
  1: 'subnet-mask',
  3: 'router',
  6: 'dns',
  12: 'hostname',
  13: 'boot-size',
  15: 'domain',
  43: 'vendor-pxe',
  50: 'requested-ip',
  51: 'lease-time',
  53: 'message-type',
  54: 'server-id',
  55: 'param-request',
  56: 'message',
  57: 'max-size',
  58: 'renewal-t1',
  59: 'rebinding-t2',
  60: 'vendor-class',
  61: 'client-id',
  66: 'tftp-server',
  67: 'bootfile',
  77: 'user-class',
  82: 'relay-agent',
  93: 'client-arch',
  94: 'client-ndi',
  97: 'client-uuid',
  175: 'ipxe',
};

// Text when every byte is printable ASCII, allowing one trailing NUL (option 67 is NUL-terminated).
const printable = (b: Buffer): boolean => {
  const body = b.length > 0 && b[b.length - 1] === 0 ? b.subarray(0, b.length - 1) : b;
  return body.length > 0 && [...body].every((c) => c >= 0x20 && c < 0x7f);
};
const ip = (b: Buffer, i: number): string => `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`;

function view(code: number, d: Buffer): string {
  try {
    switch (code) {
      case OPT.MESSAGE_TYPE:
        return d.length === 1 ? (MSG_NAMES[d[0]!] ?? `type ${d[0]}`) : '';
      case OPT.SUBNET_MASK:
      case OPT.ROUTER:
      case OPT.DNS:
      case OPT.SERVER_ID:
      case OPT.REQUESTED_IP: {
        if (d.length % 4 !== 0) return '';
        const out: string[] = [];
        for (let i = 0; i < d.length; i += 4) out.push(ip(d, i));
        return out.join(',');
      }
      case OPT.PARAM_REQUEST:
        return [...d].join(',');
      case OPT.MAX_SIZE:
        return d.length === 2 ? String(d.readUInt16BE(0)) : '';
      case OPT.LEASE_TIME:
      case OPT.RENEWAL_T1:
      case OPT.REBINDING_T2:
        return d.length === 4 ? String(d.readUInt32BE(0)) : '';
      case OPT.CLIENT_ARCH: {
        const out: number[] = [];
        for (let i = 0; i + 1 < d.length; i += 2) out.push(d.readUInt16BE(i));
        return out.join(',');
      }
      case OPT.CLIENT_UUID:
        return d.length === 17 ? `type=${d[0]} guid=${d.subarray(1).toString('hex')}` : '';
      case OPT.USER_CLASS:
        return JSON.stringify(userClasses({ options: [{ code, data: d }] } as unknown as DhcpPacket));
      case OPT.VENDOR:
      case OPT.IPXE:
      case OPT.RELAY_AGENT:
        return decodeSubOptions(d, `option ${code}`)
          .map((s) => `${s.code}=${s.data.toString('hex')}`)
          .join(' ');
      default:
        return printable(d) ? JSON.stringify(d.toString('latin1')) : '';
    }
  } catch {
    return '(malformed)';
  }
}

export function renderPacket(p: DhcpPacket): string {
  const lines = [
    `op=${p.op} htype=${p.htype} hlen=${p.hlen} hops=${p.hops} xid=${p.xid.toString(16).padStart(8, '0')} secs=${p.secs} flags=${p.flags.toString(16).padStart(4, '0')}`,
    `ciaddr=${p.ciaddr} yiaddr=${p.yiaddr} siaddr=${p.siaddr} giaddr=${p.giaddr}`,
    `chaddr=${p.chaddr.toString('hex')}`,
    `sname=${JSON.stringify(p.sname)}`,
    `file=${JSON.stringify(p.file)}`,
  ];
  for (const o of p.options) {
    const v = view(o.code, o.data);
    lines.push(`opt ${o.code} ${NAMES[o.code] ?? '?'} len=${o.data.length} ${o.data.toString('hex')}${v ? ` : ${v}` : ''}`);
  }
  return lines.join('\n') + '\n';
}
