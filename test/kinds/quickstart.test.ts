/**
 * End to end: pipelines/quickstart.yaml with tiny settings through the CLI, as a user runs it. The run
 * ends with a report (HTML and Markdown) and its figures (SVG that parses, PNG); results export as CSV
 * with plausible numbers; the curve reproduces its end points' evaluations; a second run executes
 * nothing, and changing a figure's title re-renders that figure alone.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { XMLValidator } from 'fast-xml-parser';
import type { Metrics } from '../../base/values.js';
import { cli, tempDir } from '../exec/helpers.js';

const quickstart = fileURLToPath(new URL('../../../pipelines/quickstart.yaml', import.meta.url));
const TINY = [
  '--set', 'dataset={name: mnist, trainSize: 512, testSize: 256}',
  '--set', 'epochs=1',
  '--set', 'prune_begin=1',
  '--set', 'prune_end=3',
  '--set', 'prune_every=1',
  '--set', 'points=5',
];

function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((r) => r.split(','));
}

test('quickstart with tiny settings: report, figures and CSVs; a second run executes nothing; a new title re-renders one figure', async () => {
  const dir = tempDir();
  const file = join(dir, 'quickstart.yaml');
  copyFileSync(quickstart, file);
  const first = await cli(['run', file, ...TINY, '--json']);
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout) as { executed: string[]; cached: string[]; failed: unknown[] };
  assert.deepEqual(report.failed, []);
  // lottery-init and sparse-init are the same node (one key): it runs once, the other finds it cached.
  assert.equal(report.executed.length, 15);
  assert.equal(report.cached.length, 1);

  const results = join(dir, 'results', 'quickstart');
  const html = readFileSync(join(results, 'report.html'), 'utf8');
  const md = readFileSync(join(results, 'report.md'), 'utf8');
  for (const claim of ['C1', 'C2', 'C3', 'C4', 'C5']) {
    assert.match(md, new RegExp(`\\| ${claim} \\| \\*\\*(supported|partly supported|not supported|no data)\\*\\* \\|`));
    assert.ok(html.includes(`<td>${claim}</td>`), `${claim} missing from the HTML report`);
  }
  assert.ok(md.includes('![Training loss from scratch to pruned at 90% sparsity](figures/paths.png)'));
  for (const name of ['paths', 'claims']) {
    const svg = readFileSync(join(results, 'figures', `${name}.svg`), 'utf8');
    assert.equal(XMLValidator.validate(svg), true, `${name}.svg does not parse`);
    assert.ok(html.includes(svg), `${name}.svg is not inlined in the HTML report`);
    const png = readFileSync(join(results, 'figures', `${name}.png`));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.readUInt32BE(16) > 100 && png.readUInt32BE(20) > 100, `${name}.png is ${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`);
    const spec = JSON.parse(readFileSync(join(results, 'figures', `${name}.vl.json`), 'utf8')) as { $schema: string };
    assert.match(spec.$schema, /vega-lite/);
  }

  // Landscapes as CSV: finite losses, accuracies in [0, 1], the five points of the grid.
  for (const [target, port] of [['line', 'landscape'], ['curve[subspace=dense]', 'landscape']] as const) {
    const out = join(dir, `${target.replace(/\W+/g, '_')}.csv`);
    const exported = await cli(['export', target, '--pipeline', file, ...TINY, '--port', port, '--out', out]);
    assert.equal(exported.code, 0, exported.stderr);
    const [header, ...rows] = csvRows(out);
    assert.deepEqual(header, ['x', 'split', 'loss', 'accuracy']);
    assert.deepEqual(rows.map((r) => Number(r[0])), [0, 0.25, 0.5, 0.75, 1]);
    for (const [, , loss, accuracy] of rows) {
      assert.ok(Number.isFinite(Number(loss)) && Number(loss) > 0, `loss ${loss}`);
      assert.ok(Number(accuracy) >= 0 && Number(accuracy) <= 1, `accuracy ${accuracy}`);
    }
  }
  // The curve's end points are the evaluations of scratch (t=0) and pruned (t=1), exactly.
  const metricsOf = async (target: string): Promise<Metrics> => {
    const out = join(dir, `${target}.json`);
    const r = await cli(['export', target, '--pipeline', file, ...TINY, '--port', 'metrics', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(readFileSync(out, 'utf8')) as Metrics;
  };
  const curve = await metricsOf('curve[subspace=dense]');
  assert.equal(curve.values['train_loss_start'], (await metricsOf('evaluate-scratch')).values['train_loss']);
  assert.equal(curve.values['train_loss_end'], (await metricsOf('evaluate-pruned')).values['train_loss']);

  const second = await cli(['run', file, ...TINY, '--json']);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual((JSON.parse(second.stdout) as { executed: string[] }).executed, []);
  assert.ok(existsSync(join(results, 'report.html')));

  // A figure's title is part of its key and of nothing else's.
  const copy = readFileSync(file, 'utf8').replace('title: "Training loss from scratch to pruned at 90% sparsity"', 'title: "Another title"');
  const retitled = join(dir, 'retitled.yaml');
  writeFileSync(retitled, copy);
  const third = await cli(['run', retitled, ...TINY, '--cache', join(dir, '.sparsegraph'), '--json']);
  assert.equal(third.code, 0, third.stderr);
  assert.deepEqual((JSON.parse(third.stdout) as { executed: string[] }).executed, ['paths']);
});
