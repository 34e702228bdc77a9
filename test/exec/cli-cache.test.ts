/** gc, pin, cache export/import and show through the CLI, on an LMDB cache. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
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

/** A hang would otherwise stall the suite: past this the process is killed and the test fails. */
const BOUND = { killAfterMs: 20_000 };

test('a cache whose data.mdb or lock.mdb is a FIFO or a directory is refused, naming the cache, without waiting on it', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'p.yaml', MASKS);
  const cases = [
    { name: 'data.mdb', kind: 'a named pipe (FIFO)', make: (at: string) => execFileSync('mkfifo', [at]) },
    { name: 'lock.mdb', kind: 'a named pipe (FIFO)', make: (at: string) => execFileSync('mkfifo', [at]) },
    { name: 'data.mdb', kind: 'a directory', make: (at: string) => mkdirSync(at) },
  ];
  for (const [i, c] of cases.entries()) {
    const cache = join(dir, `cache-${i}`);
    mkdirSync(cache);
    c.make(join(cache, c.name));
    const message = `the cache ${cache} cannot be used: its ${c.name} is ${c.kind}, not a regular file`;
    for (const argv of [['plan', file], ['cache', 'verify']]) {
      const result = await cli([...argv, '--cache', cache], BOUND);
      assert.equal(result.code, 1, `${argv[0]} ${c.name} ${c.kind}: ${result.stderr}`);
      assert.ok(result.stderr.startsWith(`sparsegraph: error: ${message}`), result.stderr);
    }
    const json = await cli(['plan', file, '--cache', cache, '--json'], BOUND);
    assert.equal(json.code, 1);
    assert.match((JSON.parse(json.stdout) as { error: string }).error, new RegExp(`its ${c.name} is`));
  }
});

test('cache verify --cache naming a file is a usage error, as for every other command', async () => {
  const dir = tempDir();
  const notDir = join(dir, 'plain');
  writeFileSync(notDir, '');
  const result = await cli(['cache', 'verify', '--json', '--cache', notDir], BOUND);
  assert.equal(result.code, 2);
  assert.deepEqual(JSON.parse(result.stdout), { ok: false, error: `cache ${notDir} is not a directory` });
});

test('cache verify of a 1 TiB sparse data.mdb ends at once, in little memory, saying what it scanned', async () => {
  const cache = join(tempDir(), 'cache');
  mkdirSync(cache);
  closeSync(openSync(join(cache, 'data.mdb'), 'w'));
  truncateSync(join(cache, 'data.mdb'), 2 ** 40);
  const result = await cli(['cache', 'verify', '--json', '--cache', cache], { ...BOUND, env: { NODE_OPTIONS: '--max-old-space-size=256' } });
  assert.equal(result.code, 1, result.stderr);
  const report = JSON.parse(result.stdout) as { structure: string; results: number };
  assert.equal(report.results, 0);
  assert.equal(
    report.structure,
    'meta page 0 records a page size of 0; no meta page is readable and the file is sparse (1,099,511,627,776 bytes, 0 stored): only the first 0 bytes were scanned',
  );
});

test('cache import of a FIFO, and of a bundle whose header claims 4 GiB, fail with a message, not a hang or an abort', async () => {
  const dir = tempDir();
  const cache = join(dir, 'cache');
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const fromFifo = await cli(['cache', 'import', fifo, '--cache', cache], BOUND);
  assert.equal(fromFifo.code, 1);
  assert.equal(fromFifo.stderr, `sparsegraph: error: bundle ${fifo}: is a named pipe (FIFO), not a regular file\n`);
  const lying = join(dir, 'b.sgb');
  writeFileSync(lying, Buffer.concat([Buffer.from('SGBUNDLE'), Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(64, 7)]));
  const fromLying = await cli(['cache', 'import', lying, '--cache', cache], { ...BOUND, env: { NODE_OPTIONS: '--max-old-space-size=256' } });
  assert.equal(fromLying.code, 1, fromLying.stderr);
  assert.equal(fromLying.stderr, `sparsegraph: error: bundle ${lying}: truncated: it claims 4294967295 bytes at byte 48, the file has 80\n`);
});

test('an --out that exists and is not a regular file is refused and left as it is (cache export, export NODE, export PIPELINE)', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'p.yaml', MASKS);
  const cache = join(dir, 'cache');
  assert.equal((await cli(['run', file, '--cache', cache])).code, 0);
  const fifo = join(dir, 'out.json');
  execFileSync('mkfifo', [fifo]);
  const folder = join(dir, 'folder.sgb');
  mkdirSync(folder);
  const refusals: [string[], string, string][] = [
    [['cache', 'export', file, '--out', fifo], fifo, 'a named pipe (FIFO)'],
    [['cache', 'export', file, '--out', folder], folder, 'a directory'],
    [['export', 'c', '--pipeline', file, '--out', fifo], fifo, 'a named pipe (FIFO)'],
  ];
  for (const [argv, out, kind] of refusals) {
    const result = await cli([...argv, '--cache', cache], BOUND);
    assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr, `sparsegraph: error: --out ${out} is ${kind}, not a regular file; name a new file or a regular file to replace\n`);
  }
  const into = join(dir, 'exported');
  mkdirSync(into);
  execFileSync('mkfifo', [join(into, 'index.json')]);
  const pipeline = await cli(['export', file, '--out', into, '--cache', cache], BOUND);
  assert.equal(pipeline.code, 2, pipeline.stderr);
  assert.match(pipeline.stderr, new RegExp(`error: ${join(into, 'index.json')} \\(in --out ${into}\\) is a named pipe \\(FIFO\\), not a regular file`));
  assert.ok(statSync(join(into, 'index.json')).isFIFO());
  assert.ok(statSync(fifo).isFIFO(), 'the FIFO is still a FIFO');
  assert.deepEqual(readdirSync(folder), []);
  assert.deepEqual(readdirSync(dir).sort(), ['cache', 'exported', 'folder.sgb', 'out.json', 'p.yaml'], 'no staging file is left behind');
});
