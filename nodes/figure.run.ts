/** The rendering of `figure`: a Vega-Lite spec from the gathered results, drawn to SVG and PNG. */
import type { KindContext } from '../core/node-def.js';
import { plotSpec } from '../core/plot/index.js';
import { renderVegaLite } from '../core/plot/render.js';
import type { Figure } from '../core/values.js';
import type { figureInputs, figureParams } from './figure.js';

export async function runFigure(ctx: KindContext<typeof figureParams, typeof figureInputs>): Promise<{ figure: Figure }> {
  const { params, inputs } = ctx;
  const { spec, data } = plotSpec(params.plot, inputs.series, { title: params.title, split: params.split, x: params.x });
  const { svg, png } = await renderVegaLite(spec);
  return { figure: { format: 'svg', svg, png, spec, title: params.title, data } };
}
