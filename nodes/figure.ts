/** `figure`: the paper's plots and claim table, drawn from gathered results. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../core/node-def.js';

export const figure = defineNode({
  kind: 'figure',
  version: 1,
  description:
    "Draws one of the paper's figures from gathered results: accuracy/loss against sparsity, loss along paths, or the barrier and claims table.",
  params: Type.Object(
    {
      plot: Type.Union(
        [
          Type.Literal('sparsity-sweep'),
          Type.Literal('paths'),
          Type.Literal('barrier-table'),
        ],
        {
          description:
            'sparsity-sweep: test accuracy and training loss against sparsity per method; paths: loss along gathered landscapes; barrier-table: barrier heights and a pass/fail line per claim.',
        },
      ),
      title: Type.String({ default: '', description: 'Title drawn above the figure.' }),
      split: Type.Union([Type.Literal('train'), Type.Literal('test')], { default: 'train', description: 'Which split the plotted loss comes from.' }),
      x: Type.String({ default: '', description: 'Sweep axis on the x axis (sparsity-sweep), e.g. `s`.' }),
    },
    { additionalProperties: false },
  ),
  inputs: {
    series: {
      type: ['Landscape', 'Metrics'],
      gather: true,
      doc: 'The results to draw: a reference, a list, or a map from legend label to reference; every sweep instance is gathered.',
    },
  },
  outputs: {
    figure: { type: 'Figure', doc: 'SVG and the data behind it.' },
  },
});
