/** The rendering of `figure`: a Vega-Lite spec from the gathered results, drawn to SVG and PNG. */
import type { KindContext } from '../../engine/node-def.js';
import { plotSpec } from '../../science/plot/index.js';
import { renderVegaLite } from '../../science/plot/render.js';
import type { Figure } from '../../base/values.js';
import type { figureInputs, figureParams } from './def.js';

export async function runFigure(ctx: KindContext<typeof figureParams, typeof figureInputs>): Promise<{ figure: Figure }> {
  const { params, inputs } = ctx;
  const { spec, data } = plotSpec(params.plot, inputs.series, { title: params.title, split: params.split, x: params.x });
  const { svg, png } = await renderVegaLite(spec);
  return { figure: { format: 'svg', svg, png, spec, title: params.title, data } };
}
