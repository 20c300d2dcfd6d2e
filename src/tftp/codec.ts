// Pure TFTP codec: RFC 1350 packets plus the RFC 2347 OACK. No I/O, no logging, no policy.
// decode() throws PxedError TFTP_MALFORMED saying what was being read; encode(decode(b)) reproduces b for every
// well-formed packet (option names keep the case they were sent with).

import { PxedError } from '../errors.js';

/** Opcodes: RFC 1350 §5, OACK from RFC 2347. */
export const OP = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** Error codes: RFC 1350 appendix, 8 from RFC 2347. */
export const ERR = {
  NOT_DEFINED: 0,
  NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

/** Bytes of the DATA header (opcode + block), RFC 1350 §5. */
export const DATA_HEADER = 4;
/** Largest block number before rollover to 0 (docs/protocol.md §6 item 9). */
export const MAX_BLOCK = 0xffff;

export interface TftpOption {
  /** As sent on the wire; compare with `.toLowerCase()` (RFC 2347: names are case-insensitive). */
  name: string;
  value: string;
}

export interface TftpRequest {
  op: 'rrq' | 'wrq';
  filename: string;
  mode: string;
  options: TftpOption[];
}

export type TftpPacket =
  | TftpRequest
  | { op: 'data'; block: number; data: Buffer }
  | { op: 'ack'; block: number }
  | { op: 'error'; code: number; message: string }
  | { op: 'oack'; options: TftpOption[] };

function malformed(what: string, details?: Record<string, unknown>): PxedError {
  return new PxedError('TFTP_MALFORMED', `malformed TFTP packet: ${what}`, details);
}

/** Reads a NUL-terminated string at `pos`; returns it and the position after the NUL, or null when unterminated. */
function cstring(buf: Buffer, pos: number): { s: string; next: number } | null {
  const end = buf.indexOf(0, pos);
  if (end < 0) return null;
  return { s: buf.toString('utf8', pos, end), next: end + 1 };
}

/** Name/value pairs up to the end of the buffer (RFC 2347 §2). Trailing NUL padding is tolerated. */
function decodeOptions(buf: Buffer, pos: number, what: string): TftpOption[] {
  const options: TftpOption[] = [];
  while (pos < buf.length) {
    if (buf[pos] === 0) {
      // Some clients pad the request with NULs: accept only if everything left is padding.
      for (let i = pos; i < buf.length; i++) if (buf[i] !== 0) throw malformed(`${what}: empty option name`, { offset: pos });
      break;
    }
    const name = cstring(buf, pos);
    if (!name) throw malformed(`${what}: unterminated option name`, { offset: pos });
    const value = cstring(buf, name.next);
    if (!value) throw malformed(`${what}: option ${name.s} has no terminated value`, { offset: name.next });
    options.push({ name: name.s, value: value.s });
    pos = value.next;
  }
  return options;
}

export function decode(buf: Buffer): TftpPacket {
  if (buf.length < 2) throw malformed('shorter than an opcode', { length: buf.length });
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case OP.RRQ:
    case OP.WRQ: {
      const op = opcode === OP.RRQ ? 'rrq' : 'wrq';
      const filename = cstring(buf, 2);
      if (!filename) throw malformed(`${op}: unterminated filename`);
      const mode = cstring(buf, filename.next);
      if (!mode) throw malformed(`${op}: unterminated mode`);
      return { op, filename: filename.s, mode: mode.s, options: decodeOptions(buf, mode.next, op) };
    }
    case OP.DATA:
      if (buf.length < DATA_HEADER) throw malformed('data: shorter than its header', { length: buf.length });
      return { op: 'data', block: buf.readUInt16BE(2), data: buf.subarray(DATA_HEADER) };
    case OP.ACK:
      if (buf.length < 4) throw malformed('ack: shorter than 4 bytes', { length: buf.length });
      return { op: 'ack', block: buf.readUInt16BE(2) };
    case OP.ERROR: {
      if (buf.length < 4) throw malformed('error: shorter than 4 bytes', { length: buf.length });
      // The message should be NUL-terminated; tolerate a missing terminator (it is only logged).
      const end = buf.indexOf(0, 4);
      return { op: 'error', code: buf.readUInt16BE(2), message: buf.toString('utf8', 4, end < 0 ? buf.length : end) };
    }
    case OP.OACK:
      return { op: 'oack', options: decodeOptions(buf, 2, 'oack') };
    default:
      throw malformed('unknown opcode', { opcode });
  }
}

function encodeStrings(opcode: number, strings: string[]): Buffer {
  const parts = strings.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(2 + parts.reduce((n, p) => n + p.length + 1, 0));
  out.writeUInt16BE(opcode, 0);
  let pos = 2;
  for (const p of parts) {
    p.copy(out, pos);
    pos += p.length + 1; // the NUL is already there (alloc zero-fills)
  }
  return out;
}

const flatten = (options: TftpOption[]): string[] => options.flatMap((o) => [o.name, o.value]);

export function encode(p: TftpPacket): Buffer {
  switch (p.op) {
    case 'rrq':
    case 'wrq':
      return encodeStrings(p.op === 'rrq' ? OP.RRQ : OP.WRQ, [p.filename, p.mode, ...flatten(p.options)]);
    case 'data': {
      const out = Buffer.allocUnsafe(DATA_HEADER + p.data.length);
      writeDataHeader(out, p.block);
      p.data.copy(out, DATA_HEADER);
      return out;
    }
    case 'ack': {
      const out = Buffer.alloc(4);
      out.writeUInt16BE(OP.ACK, 0);
      out.writeUInt16BE(p.block & MAX_BLOCK, 2);
      return out;
    }
    case 'error': {
      const msg = Buffer.from(p.message, 'utf8');
      const out = Buffer.alloc(4 + msg.length + 1);
      out.writeUInt16BE(OP.ERROR, 0);
      out.writeUInt16BE(p.code, 2);
      msg.copy(out, 4);
      return out;
    }
    case 'oack':
      return encodeStrings(OP.OACK, flatten(p.options));
  }
}

/** Hot path: writes the DATA opcode and the (wrapped) block number into the first 4 bytes of `buf`. */
export function writeDataHeader(buf: Buffer, block: number): void {
  buf[0] = 0;
  buf[1] = OP.DATA;
  buf[2] = (block >>> 8) & 0xff;
  buf[3] = block & 0xff;
}

/** Hot path: the block number of an ACK, or -1 if `buf` is not a well-formed ACK. */
export function ackBlock(buf: Buffer): number {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== OP.ACK) return -1;
  return (buf[2]! << 8) | buf[3]!;
}
