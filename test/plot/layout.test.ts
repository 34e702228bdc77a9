/**
 * The figures as the report shows them: laid out by vega (text measured in the drawing font), every
 * figure fits the report's column, its text is at least 12 px there, the figure's title stands apart
 * from the panels' titles under it, and no two texts overlap. Checked on figures built through the plot
 * code from data shaped like the paper's run, and on the committed report's figures.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { GatheredValue, Landscape, Metrics } from '../../base/values.js';
import { plotSpec, type PlotName } from '../../science/plot/index.js';
import { layoutVegaLite, logTicks, type LaidOutText } from '../../science/plot/render.js';
import { REPORT_COLUMN_PX } from '../../science/report/report.js';

/** The smallest text, in CSS pixels as the report shows it, that reads without zooming. */
const READABLE_PX = 12;
/** The empty space between the figure's title and whatever is drawn under it. */
const TITLE_GAP_PX = 10;

const SPARSITIES = [0.8, 0.9, 0.95, 0.98];
const SEEDS = [0, 1, 2];

/** Accuracy and final loss per method, sparsity and seed, in the paper run's ranges; dense has no `s`. */
function sweepSeries(): GatheredValue<Metrics>[] {
  const out: GatheredValue<Metrics>[] = [];
  for (const seed of SEEDS) out.push({ label: 'dense', coords: { seed }, value: { values: { test_accuracy: 0.9848 + 0.0003 * seed, train_loss: 0.002 } } });
  for (const [i, label] of ['pruned', 'scratch', 'lottery'].entries()) {
    for (const s of SPARSITIES) {
      for (const seed of SEEDS) {
        const k = (s - 0.8) / 0.18;
        out.push({ label, coords: { s, seed }, value: { values: { test_accuracy: 0.9845 - (0.006 + 0.002 * i) * k * k - 0.0005 * seed, train_loss: 0.003 + (0.02 + 0.01 * i) * k ** 4 + 0.0002 * seed } } });
      }
    }
  }
  return out;
}

/** A path's train (and test) loss at 61 points: a bump of `height` over a line from `a` to `b`. */
function landscape(axis: 't' | 'alpha', a: number, b: number, height: number): Landscape {
  const points = Array.from({ length: 61 }, (_, i) => i / 60).flatMap((x) => {
    const loss = Math.exp(Math.log(a) * (1 - x) + Math.log(b) * x) + height * Math.sin(Math.PI * x) ** 2;
    return (['train', 'test'] as const).map((split) => ({ x, split, loss: split === 'train' ? loss : 1.1 * loss, accuracy: 0.98 }));
  });
  return { axis, points };
}

/** The lines from the initialisation (figure 2) and the scratch-to-pruned line and curves (figure 3). */
function pathSeries(which: 'lines' | 'curves'): GatheredValue<Landscape>[] {
  const out: GatheredValue<Landscape>[] = [];
  for (const s of SPARSITIES) {
    for (const seed of SEEDS) {
      const end = 0.003 * (1 + 10 * (s - 0.8)) * (1 + 0.1 * seed);
      if (which === 'lines') {
        out.push({ label: 'init -> pruned', coords: { s, seed }, value: landscape('alpha', 2.3, end, 0) });
        out.push({ label: 'init -> scratch', coords: { s, seed }, value: landscape('alpha', 2.3, 1.2 * end, 0) });
      } else {
        out.push({ label: 'linear', coords: { s, seed }, value: landscape('t', end, end, 0.9 + 0.1 * seed) });
        for (const degree of [2, 3]) {
          for (const subspace of ['sparse', 'dense']) out.push({ label: 'bezier', coords: { s, seed, degree, subspace }, value: landscape('t', end, end, subspace === 'sparse' ? 0.05 : 0.03) });
        }
      }
    }
  }
  return out;
}

/** The solutions' and paths' metrics the claims table reads, four sparsities by three seeds. */
function claimSeries(): GatheredValue<Metrics>[] {
  const out: GatheredValue<Metrics>[] = [];
  const m = (label: string, coords: Record<string, string | number>, values: Record<string, number>) => out.push({ label, coords, value: { values } });
  for (const s of SPARSITIES) {
    for (const seed of SEEDS) {
      const c = { s, seed };
      m('pruned', c, { test_accuracy: 0.983, train_loss: 0.004 });
      m('scratch', c, { test_accuracy: 0.981, train_loss: 0.005 });
      m('lottery', c, { test_accuracy: 0.982, train_loss: 0.0035 });
      m('init-linear', c, { train_loss_start: 2.3, train_loss_end: 0.004, train_max_rise: 0, train_barrier_loss: 0 });
      m('linear', c, { train_barrier_loss: 0.8 + 0.5 * seed + (s === 0.98 ? 1 : 0) });
      m('lottery-linear', c, { train_barrier_loss: 0.01 * (seed + 1) });
      for (const degree of [2, 3]) {
        for (const subspace of ['sparse', 'dense']) m('bezier', { ...c, degree, subspace }, { train_barrier_loss: subspace === 'sparse' ? 0.05 : 0.03, train_loss_start: 0.005, train_loss_end: 0.004 });
      }
    }
  }
  return out;
}

const BUILT: Record<string, () => Record<string, unknown>> = {
  'sparsity-sweep': () => plotSpec('sparsity-sweep', sweepSeries(), { title: 'Test accuracy and training loss against sparsity', split: 'train', x: 's' }).spec,
  'paths (lines)': () => plotSpec('paths', pathSeries('lines'), { title: 'Training loss along the lines from the initialisation', split: 'train', x: '' }).spec,
  'paths (curves)': () => plotSpec('paths', pathSeries('curves'), { title: 'Training loss from scratch to pruned: line and Bezier curves', split: 'train', x: '' }).spec,
  'barrier-table': () => plotSpec('barrier-table' satisfies PlotName, claimSeries(), { title: 'Barrier heights and claims C1-C5', split: 'train', x: '' }).spec,
};

const gap = (a: LaidOutText, b: LaidOutText): number => Math.max(b.x1 - a.x2, a.x1 - b.x2, b.y1 - a.y2, a.y1 - b.y2);
const show = (t: LaidOutText): string => `${t.role} ${JSON.stringify(t.text)} at (${t.x1.toFixed(1)}, ${t.y1.toFixed(1)})-(${t.x2.toFixed(1)}, ${t.y2.toFixed(1)})`;

/** The checks every figure meets; `title` is the figure's title text. */
async function checkLayout(name: string, spec: Record<string, unknown>, title: string): Promise<LaidOutText[]> {
  const { width, texts } = await layoutVegaLite(spec);
  assert.ok(texts.length > 10, `${name}: hardly any text laid out (${texts.length})`);
  // The report shows the SVG at most at its own size, scaled down to the column when wider.
  const shown = Math.min(1, REPORT_COLUMN_PX / width);
  for (const t of texts) assert.ok(t.fontSize * shown >= READABLE_PX, `${name}: ${show(t)} is ${(t.fontSize * shown).toFixed(1)} px in the report (figure ${width} px wide, font ${t.fontSize} px)`);
  const heading = texts.filter((t) => t.text === title && t.role === 'title-text');
  assert.equal(heading.length, 1, `${name}: the figure's title is drawn once`);
  const head = heading[0]!;
  for (const t of texts) {
    if (t === head) continue;
    assert.ok(t.fontSize < head.fontSize, `${name}: ${show(t)} is as large as the figure's title`);
    assert.ok(t.y1 - head.y2 >= TITLE_GAP_PX, `${name}: ${show(t)} is ${(t.y1 - head.y2).toFixed(1)} px under the title ${show(head)}`);
  }
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) assert.ok(gap(texts[i]!, texts[j]!) >= 1, `${name}: ${show(texts[i]!)} overlaps ${show(texts[j]!)}`);
  }
  return texts;
}

/** The labels of the leftmost y axis, bottom to top: axis labels left of the first plot, off the x axes' row. */
function yAxisLabels(texts: readonly LaidOutText[]): string[] {
  const labels = texts.filter((t) => t.role === 'axis-label');
  const xRow = Math.max(...labels.map((t) => t.y1));
  const plotLeft = Math.min(...labels.filter((t) => Math.abs(t.y1 - xRow) < 1).map((t) => t.x1));
  return labels.filter((t) => Math.abs(t.y1 - xRow) >= 1 && t.x2 <= plotLeft).sort((a, b) => b.y1 - a.y1).map((t) => t.text);
}

for (const [name, build] of Object.entries(BUILT)) {
  test(`${name}: readable at the report's width, title apart from the panels, no text over another`, async () => {
    const spec = build();
    await checkLayout(name, spec, spec['title'] as string);
  });
}

test('sparsity-sweep: the two panel titles sit on one line, centred over their plots', async () => {
  const texts = await checkLayout('sparsity-sweep', BUILT['sparsity-sweep']!(), 'Test accuracy and training loss against sparsity');
  const panels = texts.filter((t) => t.role === 'title-text' && ['test accuracy', 'train loss (final weights)'].includes(t.text));
  assert.equal(panels.length, 2);
  assert.ok(Math.abs(panels[0]!.y1 - panels[1]!.y1) <= 2, `panel titles at different heights: ${panels.map(show).join(', ')}`);
  // Each title's centre lies over the middle third of its panel's x-axis title (which is centred on the plot).
  const xTitles = texts.filter((t) => t.role === 'axis-title' && t.text === 'sparsity').sort((a, b) => a.x1 - b.x1);
  for (const [i, p] of panels.sort((a, b) => a.x1 - b.x1).entries()) {
    const mid = (p.x1 + p.x2) / 2;
    const axisMid = (xTitles[i]!.x1 + xTitles[i]!.x2) / 2;
    assert.ok(Math.abs(mid - axisMid) < 20, `${show(p)} is not over its plot (axis title at ${axisMid.toFixed(1)})`);
  }
});

test('paths: one header per panel names the sparsity; the log axis is labelled at powers of ten only', async () => {
  const texts = await checkLayout('paths', BUILT['paths (curves)']!(), 'Training loss from scratch to pruned: line and Bezier curves');
  for (const s of SPARSITIES) assert.ok(texts.some((t) => t.text === `sparsity ${s}`), `no header "sparsity ${s}"`);
  assert.deepEqual(yAxisLabels(texts), ['0.001', '0.01', '0.1', '1', '10']);
});

test('logTicks: decades over a wide range, 1-2-5 over a narrow one, nothing for a range with no positive end', () => {
  assert.deepEqual(logTicks(0.0021, 2.4), [0.001, 0.01, 0.1, 1, 10]);
  assert.deepEqual(logTicks(0.3, 0.9), [0.1, 0.2, 0.5, 1]);
  assert.deepEqual(logTicks(0.03, 0.9), [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
  assert.deepEqual(logTicks(0, 1), []);
});

test('paths over a narrow loss range: the 2 and 5 ticks are labelled too', async () => {
  const narrow = SPARSITIES.flatMap((s) => SEEDS.map((seed) => ({ label: 'linear', coords: { s, seed }, value: landscape('t', 0.3, 0.3, 0.5) })));
  const spec = plotSpec('paths', narrow, { title: 'narrow', split: 'train', x: '' }).spec;
  const texts = await checkLayout('paths (narrow)', spec, 'narrow');
  assert.deepEqual(yAxisLabels(texts), ['0.1', '0.2', '0.5', '1']);
});

const committed = fileURLToPath(new URL('../../../docs/reproduction/figures/', import.meta.url));
for (const file of readdirSync(committed).filter((f) => f.endsWith('.vl.json'))) {
  test(`committed figure ${file}: readable at the report's width, title apart from the panels`, async () => {
    const spec = JSON.parse(readFileSync(`${committed}${file}`, 'utf8')) as Record<string, unknown>;
    const title = spec['title'];
    await checkLayout(file, spec, typeof title === 'string' ? title : (title as { text: string }).text);
  });
}

test('sparsity-sweep over repeat levels labels each level once, as a whole number', async () => {
  const series: GatheredValue<Metrics>[] = [{ label: 'dense', coords: { seed: 0 }, value: { values: { test_accuracy: 0.976, train_loss: 0.046 } } }];
  for (const level of [1, 2, 3]) {
    for (const seed of [0, 1]) series.push({ label: 'imp', coords: { level, seed }, value: { values: { test_accuracy: 0.977 + 0.001 * level, train_loss: 0.045 - 0.003 * level } } });
  }
  const { texts } = await layoutVegaLite(plotSpec('sparsity-sweep', series, { title: 'IMP', split: 'train', x: 'level' }).spec);
  const labels = texts.map((t) => t.text).filter((t) => /^\d+(\.\d+)?$/.test(t) && Number(t) >= 1 && Number(t) <= 3);
  // Two panels, each with an x axis labelled 1, 2, 3 (and no 1.2, 1.4, ...).
  assert.deepEqual(labels.filter((t) => ['1', '2', '3'].includes(t)).sort(), ['1', '1', '2', '2', '3', '3']);
  assert.deepEqual(labels.filter((t) => t.includes('.')), []);
});
