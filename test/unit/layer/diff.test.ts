import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { extractLayer } from '../../../dsl/layer/extract.js';
import { loadSnapshot, saveSnapshot, scanTree, scanTreeDiff, snapshotTree } from '../../../dsl/layer/scan.js';
import { packEntries } from '../../../dsl/layer/tarwriter.js';
import { sh, tmpDir, treeState } from '../../kit/tarfix.js';

const tmp = tmpDir('diff');
afterAll(tmp.cleanup);

describe('snapshotTree + scanTreeDiff', () => {
  const tree = path.join(tmp.dir, 'tree');
  const snapFile = path.join(tmp.dir, 'snap.json');

  it('finds additions, modifications, deletions and type changes, and its layer reproduces the tree', async () => {
    sh(`
      mkdir -p tree && cd tree
      mkdir -p a d/sub t keep u-parent && echo 1 > a/f1 && echo 2 > a/f2 && echo x > d/sub/x && echo y > d/sub/y
      echo t > t/child && echo u > u-parent/u && echo k > keep/k && echo m > keep/mode && echo same > keep/same
      ln -s a sym
    `, tmp.dir);
    const base = path.join(tmp.dir, 'base');
    await extractLayer(packEntries(await scanTree(tree)), base, { whiteouts: 'apply' });
    await saveSnapshot(snapFile, await snapshotTree(tree));
    sh(`
      mkdir -p n && echo new > n/new
      echo changed > a/f1 && rm a/f2 && rm -rf d
      rm -rf t && echo now-a-file > t
      rm u-parent/u && mkdir u-parent/u && echo c > u-parent/u/c
      chmod 600 keep/mode && rm sym && ln -s d sym
    `, tree);
    const { entries, changes } = await scanTreeDiff(tree, await loadSnapshot(snapFile));
    expect(changes.map((c) => `${c.kind} ${c.path}`)).toEqual([
      'C /a', 'C /a/f1', 'D /a/f2', 'D /d', 'C /keep/mode', 'A /n', 'A /n/new', 'C /sym', 'C /t', 'C /u-parent', 'C /u-parent/u', 'A /u-parent/u/c',
    ]);
    expect(entries.map((e) => `${e.type} ${e.path}`)).toEqual([
      'file .wh.d', 'directory a', 'file a/.wh.f2', 'file a/f1', 'directory keep', 'file keep/mode', 'directory n', 'file n/new',
      'symlink sym', 'file t', 'directory u-parent', 'directory u-parent/u', 'file u-parent/u/.wh..wh..opq', 'file u-parent/u/c',
    ]);
    await extractLayer(packEntries(entries), base, { whiteouts: 'apply' });
    expect(treeState(base)).toEqual(treeState(tree));
  });

  it('finds nothing when nothing changed', async () => {
    const still = path.join(tmp.dir, 'still');
    sh('mkdir -p still/a/b && echo f > still/a/b/f && ln -s a still/sym', tmp.dir);
    const s = await snapshotTree(still);
    expect(await scanTreeDiff(still, s)).toEqual({ entries: [], changes: [] });
  });

  it('refuses a damaged snapshot file', async () => {
    sh(`echo '{"version":1' > ${snapFile}`);
    await expect(loadSnapshot(snapFile)).rejects.toBeInstanceOf(BadInputError);
  });
});
