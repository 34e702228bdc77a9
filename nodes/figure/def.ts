/** `figure`: the paper's plots and claim table, drawn from gathered results. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../../engine/node-def.js';
import { PLOT_DOCS } from '../../science/plot/index.js';
import { namesUnion } from '../common/params.js';

export const figureParams = Type.Object(
  {
    plot: namesUnion(PLOT_DOCS, { description: 'The figure to draw' }),
    title: Type.String({ default: '', description: 'Title drawn above the figure.' }),
    split: Type.Union([Type.Literal('train'), Type.Literal('test')], { default: 'train', description: 'Which split the plotted loss comes from.' }),
    x: Type.String({ default: '', description: 'Sweep axis on the x axis (sparsity-sweep) or one panel per value (paths); default `s`.' }),
  },
  { additionalProperties: false },
);

export const figureInputs = {
  series: {
    type: ['Landscape', 'Metrics'],
    gather: true,
    doc: 'The results to draw: a reference, a list, or a map from legend label to reference; every sweep instance is gathered.',
  },
} as const;

export const figure = defineNode({
  kind: 'figure',
  version: 3,
  description:
    "Draws one of the paper's figures from gathered results: accuracy/loss against sparsity, loss along paths, or the barrier and claims table. Rendered to SVG and PNG on the server with Vega-Lite; the spec is kept with it.",
  params: figureParams,
  inputs: figureInputs,
  outputs: {
    figure: { type: 'Figure', doc: 'SVG, PNG, the Vega-Lite spec (data inlined) and the data behind it.' },
  },
  run: async (ctx) => (await import('./run.js')).runFigure(ctx),
});
