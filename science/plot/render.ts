/**
 * Vega-Lite to SVG and PNG on the server, without a browser: vega-lite compiles the spec, vega renders
 * the scenegraph to an SVG string, and resvg rasterises it. Text is measured with @napi-rs/canvas in the
 * font the PNG is drawn with (DejaVu Sans), since vega's estimate without a canvas is ~40% too wide and
 * hides axis labels. No tensor library is involved; loading vega takes ~0.3 s, so callers import this
 * module lazily.
 */
import { existsSync } from 'node:fs';

/** The font every figure uses, so measured and drawn widths agree. */
export const FIGURE_FONT = 'DejaVu Sans';

const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf',
];

/** Where the DejaVu fonts are: Debian's fonts-dejavu-core, or a copy beside the package. */
function fontFiles(): string[] {
  const found = FONT_FILES.filter((f) => existsSync(f));
  if (found.length === 0) {
    throw new Error(`no font to draw figures with: install Debian's fonts-dejavu-core (looked for ${FONT_FILES[0]})`);
  }
  return found;
}

export interface Rendered {
  readonly svg: string;
  readonly png: Uint8Array;
}

type VegaModule = typeof import('vega');

/** The part of vega-scenegraph's API (re-exported by vega) that measures text. */
interface SceneGraphText {
  readonly textMetrics: { width: (item: unknown, text: unknown) => number };
  font(item: unknown): string;
}
let vegaReady: Promise<VegaModule> | undefined;

/** Loads vega once and makes its text measurement real. */
function loadVega(): Promise<VegaModule> {
  vegaReady ??= (async () => {
    const vega = await import('vega');
    const { createCanvas, GlobalFonts } = await import('@napi-rs/canvas');
    for (const f of fontFiles()) GlobalFonts.registerFromPath(f);
    const ctx = createCanvas(8, 8).getContext('2d');
    const cache = new Map<string, number>();
    // vega re-exports vega-scenegraph's text metrics and font helper, which its typings leave out.
    const scenegraph = vega as unknown as SceneGraphText;
    scenegraph.textMetrics.width = (item: unknown, text: unknown): number => {
      const value = text == null ? '' : String(text).trim();
      if (!value) return 0;
      const font = scenegraph.font(item);
      const key = `${font}\u0000${value}`;
      let w = cache.get(key);
      if (w === undefined) {
        ctx.font = font;
        w = ctx.measureText(value).width;
        cache.set(key, w);
      }
      return w;
    };
    return vega;
  })();
  return vegaReady;
}

/** Renders a Vega-Lite spec (data inlined) to SVG and PNG. */
export async function renderVegaLite(spec: Readonly<Record<string, unknown>>, opts: { scale?: number } = {}): Promise<Rendered> {
  const vega = await loadVega();
  const { compile } = await import('vega-lite');
  const compiled = compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const { Resvg } = await import('@resvg/resvg-js');
    const png = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
      background: 'white',
      font: { fontFiles: fontFiles(), loadSystemFonts: false, defaultFontFamily: FIGURE_FONT },
    })
      .render()
      .asPng();
    return { svg, png: new Uint8Array(png) };
  } finally {
    view.finalize();
  }
}

/** The house style of every figure: one font, readable sizes. */
export const FIGURE_CONFIG = {
  font: FIGURE_FONT,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  // Legend symbols at full strength, whatever the opacity of the bands that share the colour.
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260, symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' },
} as const;
