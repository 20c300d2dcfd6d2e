// `npm run fuzz`: the long fuzz run, at least 10^6 inputs per protocol (PXED_FUZZ_COUNT overrides), in sessions of
// 100 000 inputs per protocol over a fresh app each (fresh registry, different seed). Prints counts, rates and
// findings; exits 1 on any finding (inputs saved under test/artifacts/fuzz/). Bounded by the counts.

import { fuzzSession, type FuzzCounts } from './run.js';

const total = Number(process.env.PXED_FUZZ_COUNT ?? 1_000_000);
const per = Math.min(100_000, total);
const base = Number(process.env.PXED_FUZZ_SEED ?? Date.now() % 0x7fffffff);
const sum: FuzzCounts = { dhcp: 0, tftp: 0, http: 0 };
const secs: FuzzCounts = { dhcp: 0, tftp: 0, http: 0 };
let findings = 0;
for (let s = 0; sum.dhcp < total; s++) {
  const r = await fuzzSession({ dhcp: per, tftp: per, http: per }, base + s, (line) => console.error(`session ${s}: ${line}`));
  for (const k of ['dhcp', 'tftp', 'http'] as const) {
    sum[k] += r.ran[k];
    secs[k] += r.seconds[k];
  }
  for (const f of r.findings) console.error(`FINDING ${f.protocol} #${f.index}: ${f.what.split('\n')[0]} -> ${f.file}`);
  findings += r.findings.length;
}
const rate = (k: keyof FuzzCounts): string => `${sum[k].toLocaleString('en-US')} inputs, ${(sum[k] / secs[k]).toFixed(0)}/s`;
console.log(`fuzz (seed base ${base}): DHCP ${rate('dhcp')}; TFTP ${rate('tftp')}; HTTP ${rate('http')}; findings ${findings}`);
process.exitCode = findings > 0 ? 1 : 0;
