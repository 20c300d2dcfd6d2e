// Option negotiation (RFC 2347), pure. The OACK carries only options the client asked for and we support:
// EDK2's Mtftp4RrqOackValid rejects unrequested options, blksize/windowsize above the request and a changed timeout
// (docs/protocol.md §6 item 4, quirk Q6).

import type { TftpOption } from './codec.js';

/** RFC 2348 limits. */
export const BLKSIZE_MIN = 8;
export const BLKSIZE_MAX = 65464;
/** RFC 1350 default block size. */
export const BLKSIZE_DEFAULT = 512;
/** RFC 2349 timeout limits (seconds). */
export const TIMEOUT_MIN_S = 1;
export const TIMEOUT_MAX_S = 255;
/** RFC 7440 limits. */
export const WINDOWSIZE_MIN = 1;
export const WINDOWSIZE_MAX = 65535;

export interface NegotiationLimits {
  /** Largest block size we grant (default fits a 1500-byte MTU: 1500 - 20 IP - 8 UDP - 4 TFTP = 1468). */
  maxBlksize: number;
  /** Largest window we grant. */
  maxWindowsize: number;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  /** Client-requested retransmission timeout in seconds, or null (use the server's). */
  timeoutS: number | null;
  /** True when the client asked for tsize (an EDK2 size probe may follow with ERROR 8). */
  tsizeAsked: boolean;
  /** Options to send in an OACK, in the client's order; empty means "no OACK, start with DATA 1". */
  oack: TftpOption[];
  /** Accepted options as name -> value (lower-case names), for reports. */
  accepted: Record<string, string>;
}

function intValue(v: string): number | null {
  if (!/^\d{1,10}$/.test(v.trim())) return null;
  return Number(v.trim());
}

export function negotiate(requested: readonly TftpOption[], size: number, limits: NegotiationLimits): Negotiated {
  const out: Negotiated = { blksize: BLKSIZE_DEFAULT, windowsize: 1, timeoutS: null, tsizeAsked: false, oack: [], accepted: {} };
  const seen = new Set<string>();
  for (const opt of requested) {
    const key = opt.name.toLowerCase();
    if (seen.has(key)) continue; // first occurrence wins
    seen.add(key);
    const n = intValue(opt.value);
    let value: number | null = null;
    switch (key) {
      case 'blksize':
        if (n !== null && n >= BLKSIZE_MIN) value = out.blksize = Math.min(n, BLKSIZE_MAX, limits.maxBlksize);
        break;
      case 'tsize':
        // RFC 2349: on an RRQ the client sends 0 and we answer with the exact size.
        out.tsizeAsked = true;
        value = size;
        break;
      case 'timeout':
        if (n !== null && n >= TIMEOUT_MIN_S && n <= TIMEOUT_MAX_S) value = out.timeoutS = n; // echoed unchanged
        break;
      case 'windowsize':
        if (n !== null && n >= WINDOWSIZE_MIN) value = out.windowsize = Math.min(n, WINDOWSIZE_MAX, limits.maxWindowsize);
        break;
      default:
        break; // unknown options are left out of the OACK (RFC 2347 §3)
    }
    if (value !== null) {
      out.oack.push({ name: opt.name, value: String(value) });
      out.accepted[key] = String(value);
    }
  }
  return out;
}
