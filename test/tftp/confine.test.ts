import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { confine, MAX_NAME_BYTES, normalizeName } from '../../src/tftp/confine.js';
import { isPxedError } from '../../src/errors.js';
import { traversalCorpus } from './traversal.js';

void describe('normalizeName', () => {
  void it('normalises what ROMs send', () => {
    assert.equal(normalizeName('/snponly.efi'), 'snponly.efi');
    assert.equal(normalizeName('\\boot\\pxelinux.0'), 'boot/pxelinux.0');
    assert.equal(normalizeName('a//b/./c'), 'a/b/c');
    assert.equal(normalizeName('..foo'), '..foo');
  });
  void it('refuses escapes with TFTP_ACCESS_DENIED', () => {
    for (const bad of ['..', '../x', 'a/../../x', 'a\\..\\x', '', '/', 'a\u0000b', 'C:\\x', 'x'.repeat(MAX_NAME_BYTES + 1)]) {
      assert.throws(() => normalizeName(bad), (e) => isPxedError(e, 'TFTP_ACCESS_DENIED'), JSON.stringify(bad));
    }
  });
});

void describe('confine', () => {
  let dir: string;
  let root: string;
  let root2: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tftp-confine-'));
    root = path.join(dir, 'root');
    root2 = path.join(dir, 'root2');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(root2);
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'SECRET');
    fs.writeFileSync(path.join(root, 'a.bin'), 'A');
    fs.writeFileSync(path.join(root2, 'a.bin'), 'A2');
    fs.writeFileSync(path.join(root2, 'b.bin'), 'B2');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'link-out'));
    fs.symlinkSync(dir, path.join(root, 'linkdir'));
    fs.symlinkSync('a.bin', path.join(root, 'link-in'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  void it('tries roots in order and follows symlinks that stay inside', async () => {
    assert.equal((await confine('a.bin', [root, root2])).file, fs.realpathSync(path.join(root, 'a.bin')));
    assert.equal((await confine('/b.bin', [root, root2])).file, fs.realpathSync(path.join(root2, 'b.bin')));
    assert.equal((await confine('link-in', [root])).file, fs.realpathSync(path.join(root, 'a.bin')));
    assert.deepEqual(await confine('nope', [root, '/nonexistent-root']), { name: 'nope', file: null });
    assert.equal((await confine('sub', [root])).file, null, 'directories are not files');
  });

  void it('no name in the hostile corpus resolves outside the root', async () => {
    const corpus = traversalCorpus('secret.txt', path.join(dir, 'secret.txt'));
    assert.ok(corpus.length >= 50, `corpus has ${corpus.length} names`);
    const rootReal = fs.realpathSync(root);
    for (const name of corpus) {
      let file: string | null = null;
      try {
        file = (await confine(name, [root])).file;
      } catch (e) {
        assert.ok(isPxedError(e, 'TFTP_ACCESS_DENIED'), `${JSON.stringify(name)}: ${String(e)}`);
      }
      if (file !== null) assert.ok(file.startsWith(rootReal + path.sep), `${JSON.stringify(name)} escaped to ${file}`);
    }
  });
});
