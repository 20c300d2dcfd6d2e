// `npm run fuzz`: the long fuzz run, 10^6 inputs per protocol by default (PXED_FUZZ_COUNT sets all three;
// PXED_FUZZ_DHCP / _TFTP / _HTTP one), in sessions of at most 100 000 inputs per protocol over a fresh app each
// (fresh registry, next seed). Prints counts, rates and findings; exits 1 on any finding (inputs saved under
// test/artifacts/fuzz/). Bounded by the counts.

import { fuzzSession, type FuzzCounts } from './run.js';

const all = Number(process.env.PXED_FUZZ_COUNT ?? 1_000_000);
const want: FuzzCounts = {
  dhcp: Number(process.env.PXED_FUZZ_DHCP ?? all),
  tftp: Number(process.env.PXED_FUZZ_TFTP ?? all),
  http: Number(process.env.PXED_FUZZ_HTTP ?? all),
};
const SESSION = 100_000;
const base = Number(process.env.PXED_FUZZ_SEED ?? Date.now() % 0x7fffffff);
const sum: FuzzCounts = { dhcp: 0, tftp: 0, http: 0 };
const secs: FuzzCounts = { dhcp: 0, tftp: 0, http: 0 };
let findings = 0;
for (let s = 0; sum.dhcp < want.dhcp || sum.tftp < want.tftp || sum.http < want.http; s++) {
  const next = (k: keyof FuzzCounts): number => Math.max(0, Math.min(SESSION, want[k] - sum[k]));
  const r = await fuzzSession({ dhcp: next('dhcp'), tftp: next('tftp'), http: next('http') }, base + s, (line) => console.error(`session ${s}: ${line}`));
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
