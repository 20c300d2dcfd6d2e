// The e2e harness's pure pieces, without namespaces or QEMU: the cpio newc writer, the results table and the
// docs/benchmarks.md section writer (which must leave other sections alone).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cpioNewc } from './cpio.js';
import { BENCH_SECTION, resultsTable, writeBenchmarkSection } from './timeline.js';

/** Minimal newc reader: [name, mode, rdevmajor, rdevminor, data] per entry, up to the trailer. */
function readNewc(buf: Buffer): Array<{ name: string; mode: number; rdev: [number, number]; data: Buffer }> {
  const out: Array<{ name: string; mode: number; rdev: [number, number]; data: Buffer }> = [];
  let off = 0;
  const align = (n: number): number => (n + 3) & ~3;
  for (;;) {
    assert.equal(buf.toString('ascii', off, off + 6), '070701', `magic at ${off}`);
    const field = (i: number): number => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    const dataOff = align(off + 110 + nameSize);
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode, rdev: [field(9), field(10)], data: buf.subarray(dataOff, dataOff + size) });
    off = align(dataOff + size);
  }
}

void describe('e2e harness', () => {
  void it('writes a newc archive the kernel can unpack (dirs, files, symlinks, device nodes, 4-byte alignment)', () => {
    const archive = cpioNewc([
      { kind: 'dir', path: 'dev' },
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'file', path: '/init', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
      { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
      { kind: 'file', path: 'odd', data: Buffer.from('abc') },
    ]);
    assert.equal(archive.length % 4, 0);
    const entries = readNewc(archive);
    assert.deepEqual(
      entries.map((e) => [e.name, e.mode.toString(8)]),
      [
        ['dev', '40755'],
        ['dev/console', '20600'],
        ['init', '100755'],
        ['bin/sh', '120777'],
        ['odd', '100644'],
      ],
    );
    assert.deepEqual(entries[1]!.rdev, [5, 1]);
    assert.equal(entries[2]!.data.toString(), '#!/bin/sh\n');
    assert.equal(entries[3]!.data.toString(), 'busybox');
    assert.equal(entries[4]!.data.toString(), 'abc');
  });

  void it('renders the results table with a dash for stages that did not happen', () => {
    const table = resultsTable([
      { name: 'x', path: 'offer → HTTP', seconds: 8.74, times: { 'dhcp-offer': 2.2, 'phone-home': 8.74 } },
      { name: 'y', path: 'silence', seconds: null, times: {}, note: 'gave up' },
    ]);
    const lines = table.split('\n');
    assert.match(lines[2]!, /^\| x \| offer → HTTP \| 8\.7 \| – \| 2\.2 \| – \| – \| – \| – \| – \| 8\.7 \|$/);
    assert.match(lines[3]!, /^\| y \| silence \| – (\| – ){7}\| – \|$/);
    assert.equal(lines.at(-1), '- y: gave up');
  });

  void it('replaces only its own section of docs/benchmarks.md, or appends it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-bench-'));
    try {
      const file = path.join(dir, 'benchmarks.md');
      writeBenchmarkSection(file, 'first');
      assert.equal(fs.readFileSync(file, 'utf8'), `# Benchmarks\n\n${BENCH_SECTION}\n\nfirst\n`);
      fs.writeFileSync(file, `# Benchmarks\n\n## DHCP\n\nd\n\n${BENCH_SECTION}\n\nold\nrows\n\n## HTTP\n\nh\n`);
      writeBenchmarkSection(file, 'new');
      assert.equal(fs.readFileSync(file, 'utf8'), `# Benchmarks\n\n## DHCP\n\nd\n\n${BENCH_SECTION}\n\nnew\n\n## HTTP\n\nh\n`);
      fs.writeFileSync(file, `# Benchmarks\n\n## DHCP\n\nd\n`);
      writeBenchmarkSection(file, 'appended');
      assert.equal(fs.readFileSync(file, 'utf8'), `# Benchmarks\n\n## DHCP\n\nd\n\n${BENCH_SECTION}\n\nappended\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
