/** File names and the index of a pipeline export: readable, safe on every file system, unique. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FileStems, indexCsv, outputFiles, safeName, type IndexEntry } from '../../science/export/pipeline-files.js';
import { tinyFigure } from '../fixtures/kinds.js';

test('instance ids become readable names with no character a shell or a file system minds', () => {
  const cases: [string, string][] = [
    ['line-scratch-pruned[s=0.9,seed=1]', 'line-scratch-pruned__s-0.9_seed-1'],
    ['s90/line[seed=0]', 's90~line__seed-0'],
    ['x[pair=scratch>pruned]', 'x__pair-scratch-to-pruned'],
    ['x[label=two words]', 'x__label-two_words'],
    ['x[lr=-0.1]', 'x__lr--0.1'],
    ['x[v=[1]]', 'x__v-__1__'],
    ['x[p=50%:ü*]', 'x__p-50%25%3A%C3%BC%2A'],
    ['plain_id-2', 'plain_id-2'],
  ];
  for (const [id, name] of cases) {
    assert.equal(safeName(id), name, id);
    assert.match(safeName(id), /^[A-Za-z0-9._~%-]+$/);
  }
});

test('stems are unique, also where names differ only in case, and stay short', () => {
  const stems = new FileStems();
  assert.equal(stems.stem('a[x=1]', 'out'), 'a__x-1.out');
  assert.equal(stems.stem('a__x-1', 'out'), 'a__x-1.out-2');
  assert.equal(stems.stem('A[x=1]', 'out'), 'A__x-1.out-3');
  assert.equal(stems.stem('a[x=1]', 'metrics'), 'a__x-1.metrics');
  const long = `n[${Array.from({ length: 40 }, (_, i) => `axis${i}=${i}`).join(',')}]`;
  const first = stems.stem(long, 'landscape');
  const second = stems.stem(long.replace('axis39=39', 'axis39=40'), 'landscape');
  assert.ok(first.length <= 160 && second.length <= 160, `${first.length}`);
  assert.notEqual(first, second);
  assert.ok(first.startsWith('n__axis0-0_axis1-1'));
});

test('a figure writes its SVG, its PNG and spec when it has them, and its data; typed arrays as lists', () => {
  const figure = { ...tinyFigure('t', { png: true, spec: false }), data: { y: new Float32Array([0.5, 0.25]) } };
  const files = outputFiles('Figure', figure, 'f.figure');
  assert.deepEqual(
    files.map((f) => [f.format, f.path]),
    [
      ['svg', 'figures/f.figure.svg'],
      ['png', 'figures/f.figure.png'],
      ['data.json', 'figures/f.figure.data.json'],
    ],
  );
  assert.deepEqual(JSON.parse(Buffer.from(files[2]!.bytes).toString('utf8')), { y: [0.5, 0.25] });
  assert.deepEqual(outputFiles('Mask', { model: { arch: 'a', inputShape: [1], numClasses: 2 }, masks: {} }, 'm.mask'), []);
});

test('index.csv has one row per file and a column per sweep axis; an axis named like a column is prefixed', () => {
  const entries: IndexEntry[] = [
    { instance: 'a[node=x,seed=1]', node: 'a', kind: 'k', coords: { node: 'x', seed: 1 }, port: 'out', type: 'Metrics', key: 'K1', files: { json: 'metrics/a.json', csv: 'metrics/a.csv' } },
    { instance: 'b', node: 'b', kind: 'k', coords: {}, port: 'figure', type: 'Figure', key: 'K2', files: { svg: 'figures/b.svg' } },
  ];
  assert.equal(
    indexCsv(entries),
    [
      'instance,node,kind,port,type,key,format,file,axis_node,seed',
      '"a[node=x,seed=1]",a,k,out,Metrics,K1,csv,metrics/a.csv,x,1',
      '"a[node=x,seed=1]",a,k,out,Metrics,K1,json,metrics/a.json,x,1',
      'b,b,k,figure,Figure,K2,svg,figures/b.svg,,',
      '',
    ].join('\n'),
  );
});
