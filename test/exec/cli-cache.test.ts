/** gc, pin, cache export/import and show through the CLI, on an LMDB cache. */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, graphOf, tempDir, writePipeline } from './helpers.js';

const MASKS = `sparsegraph: 1
name: masks
params: { n: 400000 }
nodes:
  m: { kind: test-mask, with: { n: "\${params.n}" } }
  c: { kind: test-count-kept, inputs: { mask: m } }
`;

test('gc keeps what the kept pipeline and pins need, removes the rest, and shrinks the file', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'p.yaml', MASKS);
  const cache = join(dir, 'cache');
  for (const n of [400000, 500000, 600000]) assert.equal((await cli(['run', file, '--cache', cache, '--set', `n=${n}`])).code, 0);
  const pinned = await cli(['pin', 'c', '--pipeline', file, '--set', 'n=500000', '--cache', cache]);
  assert.equal(pinned.code, 0, pinned.stderr);

  // A second kept pipeline keeps its results too (--keep takes several files).
  const other = writePipeline(dir, 'other.yaml', MASKS.replace('name: masks', 'name: other').replace('n: 400000', 'n: 700000'));
  assert.equal((await cli(['run', other, '--cache', cache])).code, 0);
  const dry = await cli(['gc', '--keep', file, other, '--cache', cache, '--dry-run', '--json']);
  const planned = JSON.parse(dry.stdout) as { removedResults: string[]; bytesFreed: number };
  const gone = graphOf(file, ['n=600000']).instances.map((i) => i.key).sort();
  assert.deepEqual([...planned.removedResults].sort(), gone);
  assert.ok(planned.bytesFreed > 0);

  const before = statSync(join(cache, 'data.mdb')).size;
  const gc = await cli(['gc', '--keep', file, other, '--cache', cache, '--json']);
  assert.equal(gc.code, 0, gc.stderr);
  assert.ok(statSync(join(cache, 'data.mdb')).size < before, 'the data file shrinks');
  // What stays needs no work: the kept pipeline and the pinned variant are still cached.
  for (const n of ['400000', '500000']) {
    const again = JSON.parse((await cli(['run', file, '--cache', cache, '--set', `n=${n}`, '--json'])).stdout) as { executed: string[] };
    assert.deepEqual(again.executed, [], `n=${n}`);
  }
  const kept = JSON.parse((await cli(['run', other, '--cache', cache, '--json'])).stdout) as { executed: string[] };
  assert.deepEqual(kept.executed, []);
  const removed = JSON.parse((await cli(['run', file, '--cache', cache, '--set', 'n=600000', '--json'])).stdout) as { executed: string[] };
  assert.deepEqual(removed.executed.sort(), ['c', 'm']);
});

test('gc without --keep or --older-than is a usage error', async () => {
  const result = await cli(['gc', '--cache', tempDir()]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /gc needs --keep FILE/);
});

test('a bundle exported from one cache lets another re-run the pipeline with zero nodes executed', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'p.yaml', MASKS);
  assert.equal((await cli(['run', file, '--cache', join(dir, 'a')])).code, 0);
  const bundle = join(dir, 'results.sgb');
  const exported = await cli(['cache', 'export', file, '--out', bundle, '--cache', join(dir, 'a')]);
  assert.equal(exported.code, 0, exported.stderr);
  const imported = await cli(['cache', 'import', bundle, '--cache', join(dir, 'b'), '--json']);
  assert.equal((JSON.parse(imported.stdout) as { imported: string[] }).imported.length, 2);
  const rerun = JSON.parse((await cli(['run', file, '--cache', join(dir, 'b'), '--json'])).stdout) as { executed: string[]; cached: string[] };
  assert.deepEqual(rerun, { ok: true, executed: [], cached: ['m', 'c'], failed: [], skipped: [] });
  const shown = await cli(['show', 'c', '--pipeline', file, '--cache', join(dir, 'b')]);
  assert.match(shown.stdout, /^c \(test-count-kept v1\)/);
  assert.match(shown.stdout, /\n {2}m \(test-mask v1\)/);
});
