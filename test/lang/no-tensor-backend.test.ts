/**
 * The wall between analysis and execution: validating and planning a pipeline never loads tfjs, so it
 * stays instant and works without a backend. tfjs-core registers its engine on `globalThis` when it
 * loads; this file runs in a process of its own (node --test), so nothing else has loaded it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from '../../cache/memory-store.js';
import { dataHooks } from '../../science/data/index.js';
import { startPriorities } from '../../engine/exec/critical-path.js';
import { analyze } from '../../engine/lang/analyze.js';
import { planGraph } from '../../engine/plan.js';
import { KindRegistry } from '../../engine/registry.js';
import { builtinKinds } from '../../nodes/index.js';

test('analysing and planning the paper pipeline, datasets fingerprinted, costs estimated, loads no tensor library', () => {
  const file = fileURLToPath(new URL('../../../pipelines/paper.yaml', import.meta.url));
  const result = analyze(file, {
    registry: new KindRegistry(builtinKinds),
    ...dataHooks,
  });
  assert.ok(result.ok);
  const plan = planGraph(result.graph, new MemoryStore());
  assert.equal(plan.length, result.graph.instances.length);
  assert.ok(plan.some((e) => e.components.data !== undefined), 'MNIST was fingerprinted');
  // The kinds' cost estimates, which order the run, are definitions' code too.
  assert.equal(startPriorities(result.graph, new Map(plan.map((e) => [e.id, e]))).size, new Set(plan.map((e) => e.key)).size);
  assert.equal('_tfengine' in globalThis, false);
});
