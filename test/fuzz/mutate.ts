// Seeded input generation for the fuzzers: mutations of real packets/requests (bit flips, byte sets, interesting
// values, truncation, extension, splices between two seeds, duplicated runs) and plain random bytes.
// Deterministic in the seed, so a finding can be reproduced from (seed, index) as well as from the saved input.

export type Rng = () => number;

/** xorshift32, as test/dhcp/helpers/rawclient.ts. */
export function rng(seed: number): Rng {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x20, 0x2f, 0x2e, 0x25, 0x3a, 0x3f];

export function randomBytes(r: Rng, max: number): Buffer {
  const b = Buffer.allocUnsafe(Math.floor(r() * max));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** One mutated copy of `seed`; `other` is a second seed to splice from. `from` leaves the first bytes alone. */
export function mutate(r: Rng, seed: Buffer, other: Buffer, from = 0): Buffer {
  let b = Buffer.from(seed);
  const rounds = 1 + Math.floor(r() * 6);
  for (let k = 0; k < rounds; k++) {
    const at = (): number => from + Math.floor(r() * Math.max(1, b.length - from));
    switch (Math.floor(r() * 8)) {
      case 0: // bit flip
        if (b.length > from) {
          const i = at();
          b[i] = b[i]! ^ (1 << Math.floor(r() * 8));
        }
        break;
      case 1: // random byte
        if (b.length > from) b[at()] = Math.floor(r() * 256);
        break;
      case 2: // interesting byte
        if (b.length > from) b[at()] = INTERESTING[Math.floor(r() * INTERESTING.length)]!;
        break;
      case 3: // truncate
        b = b.subarray(0, at());
        break;
      case 4: // extend with random bytes
        b = Buffer.concat([b, randomBytes(r, 64)]);
        break;
      case 5: {
        // splice: our head, the other seed's tail
        const cut = at();
        b = Buffer.concat([b.subarray(0, cut), other.subarray(Math.floor(r() * other.length))]);
        break;
      }
      case 6: {
        // duplicate a run
        const s = at();
        const len = Math.floor(r() * 32);
        b = Buffer.concat([b.subarray(0, s), b.subarray(s, s + len), b.subarray(s)]);
        break;
      }
      default: {
        // 16-bit boundary value
        if (b.length >= from + 2) {
          const s = Math.min(at(), b.length - 2);
          b.writeUInt16BE([0, 1, 0x7fff, 0x8000, 0xffff, 0xfffe][Math.floor(r() * 6)]!, s);
        }
      }
    }
  }
  return b;
}
