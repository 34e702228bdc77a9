/** The claims' criteria on hand-made metrics: each verdict follows from the stated rule. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatheredValue } from '../../base/values.js';
import { judgeClaims } from '../../science/report/claims.js';

type Coords = Record<string, string | number>;
const m = (label: string, coords: Coords, values: Record<string, number>): GatheredValue<{ values: Record<string, number> }> => ({ label, coords, value: { values } });

/** Two sparsities x two seeds; at 0.98 scratch beats pruning (C1 fails there). */
function gathered() {
  const out: GatheredValue<{ values: Record<string, number> }>[] = [];
  for (const s of [0.9, 0.98]) {
    for (const seed of [0, 1]) {
      const c = { s, seed };
      out.push(m('pruned', c, { test_accuracy: 0.98, train_loss: 0.03 }));
      out.push(m('scratch', c, s === 0.9 ? { test_accuracy: 0.97, train_loss: 0.05 } : { test_accuracy: 0.985, train_loss: 0.02 }));
      out.push(m('lottery', c, { test_accuracy: 0.975, train_loss: 0.04 }));
      // C2: at 0.98, seed 1 rises by 0.01 on a drop of 2 (> 0.001 x 2): not monotone.
      out.push(m('init-linear', c, { train_loss_start: 2.3, train_loss_end: 0.3, train_max_rise: s === 0.98 && seed === 1 ? 0.01 : 0.0001, train_barrier_loss: 0 }));
      out.push(m('linear', c, { train_barrier_loss: 2 }));
      for (const degree of [2, 3]) {
        out.push(m('bezier', { ...c, degree, subspace: 'sparse' }, { train_barrier_loss: 0.5, train_loss_start: 0.05, train_loss_end: 0.03 }));
        // Dense: 0.04 < 0.1 x 0.5 passes; at 0.98 seed 0 degree 3, 0.06 does not.
        out.push(m('bezier', { ...c, degree, subspace: 'dense' }, { train_barrier_loss: s === 0.98 && seed === 0 && degree === 3 ? 0.06 : 0.04, train_loss_start: 0.05, train_loss_end: 0.03, offmask_mass_fraction: 0.3 }));
      }
    }
  }
  return out;
}

test('each claim is judged per sparsity by its stated criterion', () => {
  const r = judgeClaims(gathered());
  const verdict = Object.fromEntries(r.claims.map((c) => [c.id, c.verdict]));
  assert.deepEqual(verdict, { C1: 'partly supported', C2: 'partly supported', C3: 'supported', C4: 'supported', C5: 'partly supported' });
  const c1 = r.claims[0]!;
  assert.deepEqual(c1.perSparsity.map((p) => [p.s, p.holds]), [[0.9, true], [0.98, false]]);
  assert.equal(c1.perSparsity[0]!.values['scratch test accuracy']!.mean, 0.97);
  assert.match(c1.note!, /does not grow/);
  assert.deepEqual(r.claims[1]!.perSparsity.map((p) => p.holds), [true, false]);
  assert.deepEqual(r.claims[4]!.perSparsity.map((p) => p.reason), [
    '4 of 4 dense curves without a barrier or below 0.1 x the sparse curve\'s',
    '3 of 4 dense curves without a barrier or below 0.1 x the sparse curve\'s',
  ]);
});

test('sanity checks compare curve ends with the evaluations exactly; the barrier table has one row per sparsity and seed', () => {
  const r = judgeClaims(gathered());
  // Curves start at 0.05 (scratch's train loss only at 0.9) and end at 0.03 (pruned's): half match.
  assert.deepEqual(r.sanity[0], { check: 'Every curve reproduces its end points\' training losses exactly at t=0 and t=1', passed: false, detail: '8 of 16 curves' });
  assert.equal(r.sanity[1]!.passed, true);
  assert.equal(r.barriers.length, 4);
  assert.deepEqual(r.barriers[0], {
    s: 0.9,
    seed: 0,
    barriers: { 'init-linear': 0, linear: 2, 'quadratic sparse': 0.5, 'quadratic dense': 0.04, 'cubic sparse': 0.5, 'cubic dense': 0.04 },
  });
});

test('without a sparsity sweep the claims are judged on one group; without inputs a claim has no data', () => {
  const single = gathered().filter((g) => g.coords['s'] === 0.9).map((g) => ({ ...g, coords: Object.fromEntries(Object.entries(g.coords).filter(([k]) => k !== 's')) }));
  const r = judgeClaims(single);
  assert.equal(r.claims[2]!.verdict, 'supported');
  assert.equal(r.claims[2]!.perSparsity[0]!.s, undefined);
  assert.deepEqual(judgeClaims([]).claims.map((c) => c.verdict), ['no data', 'no data', 'no data', 'no data', 'no data']);
});
