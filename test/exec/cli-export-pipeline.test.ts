/** `sparsegraph export PIPELINE.yaml --out DIR`: every cached table and figure, the checkpoints asked for, an index and the report. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../cache/lmdb-store.js';
import { checkpointFromSafetensors, curveFromSafetensors } from '../../science/nn/safetensors.js';
import { tinyCurveOutputs, tinyFigure } from '../fixtures/kinds.js';
import { cli, graphOf, tempDir, writePipeline } from './helpers.js';

const PIECE = `sparsegraph: 1
name: piece
nodes:
  c: { kind: test-constant, with: { v: 9 } }
`;

/** Sweeps (a matrix of two axes, a foreach), an imported node, figures with and without PNG and spec, a Mask. */
const STUDY = `sparsegraph: 1
name: study
params: { seeds: [1, 2] }
imports: [{ file: piece.yaml, as: s90 }]
nodes:
  line-scratch-pruned:
    kind: test-curve
    matrix: { s: [0.9], seed: "\${params.seeds}" }
    with: { degree: "\${item.seed}" }
  ckpt: { kind: test-checkpoint, foreach: [3, 4], with: { seed: "\${item}" } }
  fig: { kind: test-figure, with: { title: "a > b" } }
  plain: { kind: test-figure, with: { title: plain, png: false, spec: false } }
  m: { kind: test-mask, with: { n: 6 } }
`;

const LINE1 = 'line-scratch-pruned[s=0.9,seed=1]';
const LINE2 = 'line-scratch-pruned[s=0.9,seed=2]';
const LINE3 = 'line-scratch-pruned[s=0.9,seed=3]';
const STEM1 = 'line-scratch-pruned__s-0.9_seed-1';
const STEM2 = 'line-scratch-pruned__s-0.9_seed-2';

/** Every file the first test's export writes, in the order written: instance by instance, then the report, then the index. */
const WRITTEN = [
  'metrics/s90~c.out.csv',
  'metrics/s90~c.out.json',
  `landscapes/${STEM1}.landscape.csv`,
  `landscapes/${STEM1}.landscape.json`,
  `metrics/${STEM1}.metrics.csv`,
  `metrics/${STEM1}.metrics.json`,
  `checkpoints/${STEM2}.curve.safetensors`,
  `landscapes/${STEM2}.landscape.csv`,
  `landscapes/${STEM2}.landscape.json`,
  `metrics/${STEM2}.metrics.csv`,
  `metrics/${STEM2}.metrics.json`,
  'checkpoints/ckpt__item-3.checkpoint.safetensors',
  'checkpoints/ckpt__item-4.checkpoint.safetensors',
  'figures/fig.figure.svg',
  'figures/fig.figure.png',
  'figures/fig.figure.vl.json',
  'figures/fig.figure.data.json',
  'figures/plain.figure.svg',
  'figures/plain.figure.data.json',
  'report/report.html',
  'report/report.md',
  'index.csv',
  'index.json',
];


async function ranStudy(): Promise<{ dir: string; cache: string; file: string; exportOf: (...args: string[]) => ReturnType<typeof cli> }> {
  const dir = tempDir();
  const cache = join(dir, 'cache');
  writePipeline(dir, 'piece.yaml', PIECE);
  const file = writePipeline(dir, 'study.yaml', STUDY);
  const ran = await cli(['run', file, '--cache', cache]);
  assert.equal(ran.code, 0, ran.stderr);
  return { dir, cache, file, exportOf: (...args) => cli(['export', file, '--cache', cache, ...args]) };
}

/** Every file under `dir`, relative and `/`-separated, sorted. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)).split('\\').join('/'))
    .sort();
}

/** The tensor names of a safetensors file, read without the code under test. */
function tensorNames(file: string): string[] {
  const bytes = readFileSync(file);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>;
  return Object.keys(header).filter((k) => k !== '__metadata__').sort();
}

test('a pipeline exports every cached landscape, metrics and figure, the checkpoints asked for, an index and the report', async () => {
  const { dir, cache, file, exportOf } = await ranStudy();
  mkdirSync(join(dir, 'results', 'study'), { recursive: true });
  const out = join(dir, 'exported');
  // seeds=[1,2,3] adds an instance that never ran; the instance id's axes may come in any order.
  const exported = await exportOf('--out', out, '--set', 'seeds=[1,2,3]', '--checkpoints', 'ckpt', '--checkpoints', 'line-scratch-pruned[seed=2,s=0.9]', '--json');
  assert.equal(exported.code, 0, exported.stderr);

  assert.deepEqual(filesUnder(out), [...WRITTEN].sort());
  const read = (path: string) => readFileSync(join(out, path), 'utf8');

  // The tables, as the single-result export writes them.
  assert.equal(
    read(`landscapes/${STEM1}.landscape.csv`),
    'x,split,loss,accuracy\n0,train,0.5,0.75\n0,test,0.625,0.7\n0.5,train,2.25,0.1\n0.5,test,2.5,0.125\n1,train,0.25,0.875\n1,test,0.375,0.8\n',
  );
  assert.equal(read(`metrics/${STEM2}.metrics.csv`), 'name,index,value\nbarrier,,0.125\n"odd, ""name""",,3\nloss,0,1\nloss,1,0.5\nloss,2,0.25\n');
  assert.equal(read('metrics/s90~c.out.csv'), 'name,index,value\nv,,9\n');

  // Every JSON file is the stored value.
  const graph = graphOf(file, ['seeds=[1,2,3]']);
  const key = (id: string) => graph.byId.get(id)!.key;
  const store = await openStore(cache);
  const stored = new Map<string, Record<string, unknown>>();
  try {
    for (const id of [LINE1, LINE2, 's90/c', 'ckpt[item=3]', 'ckpt[item=4]']) stored.set(id, await store.load(key(id)));
  } finally {
    await store.close();
  }
  for (const [id, stem] of [
    [LINE1, STEM1],
    [LINE2, STEM2],
  ] as const) {
    assert.deepEqual(JSON.parse(read(`landscapes/${stem}.landscape.json`)), stored.get(id)!['landscape']);
    assert.deepEqual(JSON.parse(read(`metrics/${stem}.metrics.json`)), stored.get(id)!['metrics']);
  }
  assert.deepEqual(JSON.parse(read('metrics/s90~c.out.json')), stored.get('s90/c')!['out']);

  // Figures: the SVG text, the PNG bytes, the spec and the data; a figure without PNG or spec has neither file.
  const fig = tinyFigure('a > b', { png: true, spec: true });
  assert.equal(read('figures/fig.figure.svg'), fig.svg);
  assert.deepEqual(readFileSync(join(out, 'figures/fig.figure.png')), Buffer.from(fig.png!));
  assert.deepEqual(JSON.parse(read('figures/fig.figure.vl.json')), fig.spec);
  assert.deepEqual(JSON.parse(read('figures/fig.figure.data.json')), fig.data);
  const plain = tinyFigure('plain', { png: false, spec: false });
  assert.equal(read('figures/plain.figure.svg'), plain.svg);
  assert.deepEqual(JSON.parse(read('figures/plain.figure.data.json')), plain.data);

  // Checkpoints with PyTorch names and masks as NAME.mask; a curve's point k as NAME_k, its shared masks once.
  for (const id of ['ckpt[item=3]', 'ckpt[item=4]']) {
    const path = join(out, `checkpoints/${id.replace('[item=', '__item-').replace(']', '')}.checkpoint.safetensors`);
    assert.deepEqual(tensorNames(path), ['fc1.bias', 'fc1.weight', 'fc1.weight.mask']);
    assert.deepEqual(checkpointFromSafetensors(readFileSync(path)), stored.get(id)!['checkpoint']);
  }
  const curvePath = join(out, `checkpoints/${STEM2}.curve.safetensors`);
  const points = [0, 1, 2];
  assert.deepEqual(
    tensorNames(curvePath),
    [...points.flatMap((k) => [`fc1.bias_${k}`, `fc1.weight_${k}`, `fc2.bias_${k}`, `fc2.weight_${k}`]), 'fc1.weight.mask', 'fc2.weight.mask'].sort(),
  );
  assert.deepEqual(curveFromSafetensors(readFileSync(curvePath)), tinyCurveOutputs(2, false).curve);

  // The report, rebuilt from the cache (this pipeline has no figure kind, so no figures in it).
  assert.match(read('report/report.html'), /^<!doctype html>[\s\S]*<h1>study: report<\/h1>/);
  assert.match(read('report/report.md'), /^# study: report\n/);

  // index.csv: one row per file, then a column per sweep axis.
  const quoted = (id: string) => (id.includes(',') ? `"${id}"` : id);
  const row = (id: string, node: string, kind: string, port: string, type: string, format: string, path: string, axes: [string, string, string]) =>
    [quoted(id), node, kind, port, type, key(id), format, path, ...axes].join(',');
  const line = (id: string, stem: string, seed: string, ports: readonly (readonly [string, string, string, string])[]) =>
    ports.map(([port, type, format, path]) => row(id, 'line-scratch-pruned', 'test-curve', port, type, format, path.replace('STEM', stem), ['', '0.9', seed]));
  const none: [string, string, string] = ['', '', ''];
  const tables = [
    ['landscape', 'Landscape', 'csv', 'landscapes/STEM.landscape.csv'],
    ['landscape', 'Landscape', 'json', 'landscapes/STEM.landscape.json'],
    ['metrics', 'Metrics', 'csv', 'metrics/STEM.metrics.csv'],
    ['metrics', 'Metrics', 'json', 'metrics/STEM.metrics.json'],
  ] as const;
  const expectedIndex = [
    'instance,node,kind,port,type,key,format,file,item,s,seed',
    row('s90/c', 's90/c', 'test-constant', 'out', 'Metrics', 'csv', 'metrics/s90~c.out.csv', none),
    row('s90/c', 's90/c', 'test-constant', 'out', 'Metrics', 'json', 'metrics/s90~c.out.json', none),
    ...line(LINE1, STEM1, '1', tables),
    ...line(LINE2, STEM2, '2', [['curve', 'Curve', 'safetensors', 'checkpoints/STEM.curve.safetensors'], ...tables]),
    ...['3', '4'].map((item) =>
      row(`ckpt[item=${item}]`, 'ckpt', 'test-checkpoint', 'checkpoint', 'Checkpoint', 'safetensors', `checkpoints/ckpt__item-${item}.checkpoint.safetensors`, [item, '', '']),
    ),
    ...['svg', 'png', 'vl.json', 'data.json'].map((format) => row('fig', 'fig', 'test-figure', 'figure', 'Figure', format, `figures/fig.figure.${format}`, none)),
    ...['svg', 'data.json'].map((format) => row('plain', 'plain', 'test-figure', 'figure', 'Figure', format, `figures/plain.figure.${format}`, none)),
  ];
  assert.deepEqual(read('index.csv').split('\n'), [...expectedIndex, '']);

  // index.json: one entry per output, with its coordinates and files; the --json summary holds the same.
  const entry = (id: string, port: string, type: string, files: Record<string, string>, extra: Record<string, unknown> = {}) => {
    const instance = graph.byId.get(id)!;
    return { instance: id, node: instance.nodeId, kind: instance.kind.kind, coords: instance.coords, port, type, key: key(id), files, ...extra };
  };
  const tableFiles = (folder: string, stem: string) => ({ csv: `${folder}/${stem}.csv`, json: `${folder}/${stem}.json` });
  const entries = [
    entry('s90/c', 'out', 'Metrics', tableFiles('metrics', 's90~c.out')),
    entry(LINE1, 'landscape', 'Landscape', tableFiles('landscapes', `${STEM1}.landscape`)),
    entry(LINE1, 'metrics', 'Metrics', tableFiles('metrics', `${STEM1}.metrics`)),
    entry(LINE2, 'curve', 'Curve', { safetensors: `checkpoints/${STEM2}.curve.safetensors` }),
    entry(LINE2, 'landscape', 'Landscape', tableFiles('landscapes', `${STEM2}.landscape`)),
    entry(LINE2, 'metrics', 'Metrics', tableFiles('metrics', `${STEM2}.metrics`)),
    entry('ckpt[item=3]', 'checkpoint', 'Checkpoint', { safetensors: 'checkpoints/ckpt__item-3.checkpoint.safetensors' }),
    entry('ckpt[item=4]', 'checkpoint', 'Checkpoint', { safetensors: 'checkpoints/ckpt__item-4.checkpoint.safetensors' }),
    entry(
      'fig',
      'figure',
      'Figure',
      { svg: 'figures/fig.figure.svg', png: 'figures/fig.figure.png', 'vl.json': 'figures/fig.figure.vl.json', 'data.json': 'figures/fig.figure.data.json' },
      { title: 'a > b' },
    ),
    entry('plain', 'figure', 'Figure', { svg: 'figures/plain.figure.svg', 'data.json': 'figures/plain.figure.data.json' }, { title: 'plain' }),
  ];
  assert.deepEqual(JSON.parse(read('index.json')), entries);
  assert.equal(entries[1]!.coords['seed'], 1, 'coordinates keep their YAML types');

  const summary = JSON.parse(exported.stdout) as Record<string, unknown>;
  assert.deepEqual(summary, {
    pipeline: file,
    name: 'study',
    out,
    instances: 9,
    exported: entries,
    files: WRITTEN,
    report: ['report/report.html', 'report/report.md'],
    notCached: [LINE3],
  });
});

test('the summary counts what was written, the report, and lists the instances not cached', async () => {
  const { dir, file, exportOf } = await ranStudy();
  const out = join(dir, 'out');
  // An existing directory is written into.
  mkdirSync(out);
  const exported = await exportOf('--out', out, '--set', 'seeds=[1,2,3,4]');
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(
    exported.stdout,
    [
      `wrote 20 file(s) to ${out}: 2 landscapes, 3 metrics, 2 figures of 8 cached node instance(s); index.csv and index.json list them`,
      'wrote the report: report/report.html and report/report.md, with 0 figure file(s)',
      `2 node instance(s) not cached, not exported: ${LINE3}, line-scratch-pruned[s=0.9,seed=4]`,
      '',
    ].join('\n'),
  );
  // Without --checkpoints no safetensors file is written, and a Mask never is.
  assert.equal(existsSync(join(out, 'checkpoints')), false);
  assert.equal(filesUnder(out).length, 20);
});

test('export of a pipeline refuses a missing pipeline, an --out that is a file, unknown --checkpoints and single-result flags', async () => {
  const { dir, file, exportOf } = await ranStudy();
  const aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'x');
  const out = join(dir, 'never');
  const missing = join(dir, 'missing.yaml');
  const cases: [string[], string][] = [
    [['export', file, '--out', aFile], `--out ${aFile} is a file; exporting a pipeline writes a directory (give a new or existing directory)`],
    [['export', file, '--out', join(aFile, 'sub')], `--out ${join(aFile, 'sub')} cannot be a directory: a folder on its path is a file`],
    [['export', file, '--out', out, '--checkpoints', 'nope', '--checkpoints', 'ckpt[item=9]'], `--checkpoints: no node or instance named 'nope', 'ckpt[item=9]' in ${file}`],
    [['export', file, '--out', out, '--checkpoints', 'fig'], '--checkpoints: fig (test-figure) has no Checkpoint or Curve output; its outputs: figure (Figure)'],
    [['export', file, '--out', out, '--port', 'metrics'], `--port names one result; exporting the pipeline ${file} writes every result (drop --port, or name a node)`],
    [
      ['export', 'fig', '--pipeline', file, '--out', join(dir, 'fig.svg'), '--checkpoints', 'ckpt'],
      '--checkpoints belongs to exporting a pipeline: sparsegraph export PIPELINE.yaml --out DIR --checkpoints NODE',
    ],
  ];
  for (const [args, message] of cases) {
    const result = await cli([...args, '--cache', join(dir, 'cache')]);
    assert.equal(result.code, 2, args.join(' '));
    assert.equal(result.stderr, `sparsegraph: error: ${message}\n`, args.join(' '));
  }
  // A pipeline file that cannot be read is reported as every command reports it (validate, plan, ...).
  const unread = await cli(['export', missing, '--out', out, '--cache', join(dir, 'cache')]);
  assert.equal(unread.code, 1);
  assert.equal(unread.stderr, `${missing}: error: cannot read pipeline file: no such file\n1 problem found\n`);
  assert.equal(existsSync(out), false);
  assert.equal(existsSync(join(dir, 'fig.svg')), false);

  // An invalid pipeline: its located diagnostics and exit 1, as `plan` reports them.
  const bad = writePipeline(dir, 'bad.yaml', 'sparsegraph: 1\nname: bad\nnodes:\n  a: { kind: test-constant, with: { v: oops } }\n');
  const invalid = await cli(['export', bad, '--out', out, '--cache', join(dir, 'cache')]);
  const planned = await cli(['plan', bad, '--cache', join(dir, 'cache')]);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /bad\.yaml:4:\d+: error: /);
  assert.equal(invalid.stderr, planned.stderr);
  assert.equal(existsSync(out), false);
});
