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

/** Compiles a Vega-Lite spec, hands its vega view (no renderer: SVG strings only) to `use`, finalizes it. */
async function withView<T>(spec: Readonly<Record<string, unknown>>, use: (view: InstanceType<VegaModule['View']>) => Promise<T>): Promise<T> {
  const vega = await loadVega();
  const { compile } = await import('vega-lite');
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'none' });
  try {
    return await use(view);
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite spec (data inlined) to SVG and PNG. */
export function renderVegaLite(spec: Readonly<Record<string, unknown>>, opts: { scale?: number } = {}): Promise<Rendered> {
  return withView(spec, async (view) => {
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
  });
}

/**
 * The smallest text a figure draws, in SVG pixels. Figures are laid out no wider than the report's
 * column, so this is also the size the report shows them at.
 */
export const MIN_TEXT_PX = 12;

/** The house style of every figure: one font, readable sizes. */
export const FIGURE_CONFIG = {
  font: FIGURE_FONT,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: MIN_TEXT_PX, titleFontSize: 13, grid: true, gridColor: '#eee' },
  // Legend symbols at full strength, whatever the opacity of the bands that share the colour.
  legend: { labelFontSize: MIN_TEXT_PX, titleFontSize: 13, labelLimit: 300, symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  // The figure's title: larger than anything in it and set apart from the panels' titles below it.
  title: { fontSize: 16, anchor: 'start', offset: 16 },
  text: { fontSize: MIN_TEXT_PX },
} as const;

/** The title of one panel of a figure: smaller than the figure's, centred over the panel's plot. */
export const panelTitle = (text: string) => ({ text, fontSize: 13, anchor: 'middle', frame: 'group', offset: 8 }) as const;

/**
 * A legend under the plots, in rows of `columns` entries: a legend beside a row of panels would make the
 * figure wider than the report's column.
 */
export const bottomLegend = (columns: number) => ({ orient: 'bottom', direction: 'horizontal', columns, title: null, labelLimit: 300, columnPadding: 24, rowPadding: 6, offset: 16 }) as const;

/**
 * Ticks for a log axis over [lo, hi]: the powers of ten (with 2 and 5 between them when the range spans
 * at most two decades), so the labels never crowd and the grid is not a thicket of minor lines.
 */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo)) return [];
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const steps = b - a <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let k = a; k <= b; k++) for (const m of steps) out.push(Number((m * 10 ** k).toPrecision(12)));
  return out.filter((v) => v <= 10 ** b);
}

/** One text drawn in a figure: where (SVG pixels, before any scaling), how large, and which part it is. */
export interface LaidOutText {
  readonly text: string;
  /** Vega's role of the mark: `title-text`, `axis-label`, `axis-title`, `legend-label`, `column-header`... */
  readonly role: string;
  readonly fontSize: number;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

interface SceneNode {
  readonly marktype?: string;
  readonly role?: string;
  readonly items?: readonly SceneNode[];
  readonly x?: number;
  readonly y?: number;
  readonly text?: unknown;
  readonly fontSize?: number;
  readonly opacity?: number;
  readonly bounds?: { x1: number; y1: number; x2: number; y2: number };
}

/**
 * The layout of a figure as vega lays it out for the SVG: the SVG's size and every non-empty text with
 * its box in SVG pixels. What tests check figures against (titles apart, text large enough at the width
 * the report shows the figure).
 */
export function layoutVegaLite(spec: Readonly<Record<string, unknown>>): Promise<{ width: number; height: number; texts: LaidOutText[] }> {
  return withView(spec, async (view) => {
    const svg = await view.toSVG();
    const size = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
    if (!size) throw new Error('layoutVegaLite: the SVG has no width and height');
    const texts: LaidOutText[] = [];
    // Item bounds are in the coordinates of the enclosing group; groups add their x, y.
    const walk = (node: SceneNode, dx: number, dy: number, role: string): void => {
      const here = node.role ?? role;
      for (const item of node.items ?? []) {
        // Labels vega hid to avoid overlaps are drawn with opacity 0.
        const visible = item.opacity !== 0;
        if (node.marktype === 'text' && visible && item.bounds && item.text != null && String(item.text).trim() !== '') {
          const b = item.bounds;
          // 11: vega's font size for a text that sets none.
          texts.push({ text: String(item.text), role: here, fontSize: item.fontSize ?? 11, x1: b.x1 + dx, y1: b.y1 + dy, x2: b.x2 + dx, y2: b.y2 + dy });
        }
        if (node.marktype === 'group') walk(item, dx + (item.x ?? 0), dy + (item.y ?? 0), here);
        else if (item.items) walk(item, dx, dy, here);
      }
    };
    const root = (view.scenegraph() as unknown as { root: SceneNode }).root;
    // The SVG draws the root group translated by the view's origin (padding and what sticks out left and up).
    const [ox, oy] = (view as unknown as { origin(): [number, number] }).origin();
    walk({ marktype: 'group', items: [root] }, ox, oy, '');
    return { width: Number(size[1]), height: Number(size[2]), texts };
  });
}
