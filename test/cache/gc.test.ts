/** The gc policy on its own (the contract suite runs gc against each store). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeKey } from '../../base/brand.js';
import { planSweep } from '../../cache/gc.js';
import { reachableFrom } from '../../cache/reachability.js';
import type { Provenance, SweepView } from '../../cache/store.js';
import { keyOf } from './fixtures/data.js';

const day = 86_400_000;
const now = Date.parse('2024-06-10T00:00:00.000Z');
const at = (daysAgo: number): string => new Date(now - daysAgo * day).toISOString();

const view: SweepView = {
  results: [
    { key: keyOf('a'), createdAt: at(10), inputs: {} },
    { key: keyOf('b'), createdAt: at(10), inputs: { x: keyOf('a') } },
    { key: keyOf('c'), createdAt: at(10), inputs: { xs: [keyOf('b'), keyOf('missing')] } },
    { key: keyOf('old'), createdAt: at(10), inputs: { x: keyOf('a') } },
    { key: keyOf('new'), createdAt: at(0.5), inputs: { x: keyOf('old-parent') } },
    { key: keyOf('old-parent'), createdAt: at(30), inputs: {} },
    { key: keyOf('pinned'), createdAt: at(30), inputs: {} },
  ],
  progress: [
    { key: keyOf('c'), savedAt: at(5) },
    { key: keyOf('orphan'), savedAt: at(5) },
    { key: keyOf('running'), savedAt: at(5) },
    { key: keyOf('fresh'), savedAt: at(0.1) },
  ],
  pins: [{ key: keyOf('pinned'), label: 'paper', pinnedAt: at(30) }],
  liveClaims: [keyOf('running')],
  running: [],
};

describe('gc policy', () => {
  it('keeps roots, pins and their inputs transitively (gathering ports too)', () => {
    const plan = planSweep(view, { roots: [keyOf('c')] }, now);
    assert.deepEqual([...plan.removeResults].sort(), [keyOf('old'), keyOf('new'), keyOf('old-parent')].sort());
    assert.deepEqual([...plan.removeProgress].sort(), [keyOf('orphan'), keyOf('fresh')].sort());
  });

  it('keeps results younger than the cut-off and what they came from', () => {
    const plan = planSweep(view, { roots: [keyOf('c')], olderThan: 7 * day }, now);
    assert.deepEqual(plan.removeResults, [keyOf('old')]);
    assert.deepEqual(plan.removeProgress, [], 'every progress state was saved within the week');
    assert.deepEqual(planSweep(view, { roots: [keyOf('c')], olderThan: 2 * day }, now).removeProgress, [keyOf('orphan')]);
  });

  it('keeps what a run in progress may read or write, and what that came from', () => {
    // 'new' is a fresh result of the run; 'gone' is a key it will write (no result yet).
    const plan = planSweep({ ...view, running: [keyOf('new'), keyOf('gone')] }, { roots: [keyOf('c')] }, now);
    assert.deepEqual(plan.removeResults, [keyOf('old')]);
    assert.deepEqual([...plan.removeProgress].sort(), [keyOf('orphan'), keyOf('fresh')].sort());
  });

  it('follows provenance through long chains without recursion', () => {
    const key = (i: number): NodeKey => `k${i}` as NodeKey;
    const reach = reachableFrom([key(49_999)], (k): Provenance['inputs'] => {
      const i = Number(k.slice(1));
      return i === 0 ? {} : { prev: key(i - 1) };
    });
    assert.equal(reach.size, 50_000);
  });
});
