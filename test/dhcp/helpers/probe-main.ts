// Runs probeDhcp once in the namespace it is started in and prints the answers as one JSON line.
// Usage: node probe-main.js '<ProbeOptions without `until`, as JSON>'.
import { probeDhcp, type ProbeOptions } from '../../../src/dhcp/probe.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as ProbeOptions;
process.stdout.write(`${JSON.stringify(await probeDhcp(opts))}\n`);
