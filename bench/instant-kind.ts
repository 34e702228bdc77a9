/**
 * The node kind the executor and queue benches run: does nothing measurable, so their figures are the
 * executor's, runner's and queue's overhead. A kinds module, so queue workers load it with --kinds.
 */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../engine/node-def.js';

export const benchInstant = defineNode({
  kind: 'bench-instant',
  version: 1,
  description: 'Returns its parameter: isolates the executor, runner and queue overhead.',
  params: Type.Object({ i: Type.Integer() }, { additionalProperties: false }),
  inputs: { prev: { type: 'Metrics', optional: true, doc: 'previous' } },
  outputs: { out: { type: 'Metrics', doc: 'i' } },
  run: async ({ params }) => ({ out: { values: { i: params.i } } }),
});

export const kinds = [benchInstant];

/** A pipeline of `chains` chains of `length` bench-instant nodes, each after the one before it. */
export function instantChains(name: string, chains: number, length: number): string {
  const lines = ['sparsegraph: 1', `name: ${name}`, 'nodes:'];
  for (let c = 0; c < chains; c++) {
    for (let k = 0; k < length; k++) {
      const prev = k === 0 ? '' : `, inputs: { prev: c${c}n${k - 1} }`;
      lines.push(`  c${c}n${k}: { kind: bench-instant, with: { i: ${c * length + k} }${prev} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}
