/**
 * What `export PIPELINE.yaml --out DIR` writes, as names and bytes: file names made from instance ids,
 * the files of each output, and the index that lists them. No file system and no tensor library here;
 * the CLI loads the values and writes what this returns.
 *
 * Layout of DIR (paths relative to it, `/`-separated):
 * - `landscapes/STEM.csv`, `landscapes/STEM.json`  every Landscape output
 * - `metrics/STEM.csv`, `metrics/STEM.json`        every Metrics output
 * - `figures/STEM.svg`, `.png` (when rendered), `.vl.json` (the Vega-Lite spec, when there is one), `.data.json`
 * - `checkpoints/STEM.safetensors`                 Checkpoint and Curve outputs of the instances asked for
 * - `index.csv` (one row per file) and `index.json` (one entry per output)
 *
 * STEM is `safeName(instance id).port`, unique in the export (see `FileStems`).
 */
import { createHash } from 'node:crypto';
import type { Coordinates } from '../../base/values.js';
import type { Figure, PortType, PortValueMap } from '../../base/values.js';
import { encodeExport } from './formats.js';
import { csv } from './tables.js';

/**
 * Characters of instance ids replaced by readable stand-ins: `x[s=0.9,seed=1]` becomes `x__s-0.9_seed-1`,
 * `s90/line` becomes `s90~line`. Any other character outside `A-Z a-z 0-9 . _ -` is percent-encoded
 * (its UTF-8 bytes as `%XX`, `%` itself as `%25`).
 */
const STAND_INS: Readonly<Record<string, string>> = { '[': '__', ']': '__', ',': '_', '=': '-', '/': '~', '>': '-to-', ' ': '_' };

/** Longest stem kept whole; a longer one is cut and ends in a digest of the whole, so it stays unique. */
const MAX_STEM = 160;

/** `text` as a file name that needs no quoting in a shell and is valid on Linux, macOS and Windows. */
export function safeName(text: string): string {
  const chars = [...text];
  let out = '';
  chars.forEach((c, i) => {
    if (/^[A-Za-z0-9._-]$/.test(c)) out += c;
    // The closing bracket of an instance id ends it: nothing to stand for.
    else if (c === ']' && i === chars.length - 1) out += '';
    else if (c in STAND_INS) out += STAND_INS[c];
    else out += [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  });
  return out;
}

/**
 * Unique file stems for (instance id, port) pairs, in the order asked. Compared case-insensitively, so
 * that two stems never land on one file on macOS or Windows; a stem taken already gets `-2`, `-3`, ...
 */
export class FileStems {
  private readonly taken = new Set<string>();

  stem(instanceId: string, port: string): string {
    let base = `${safeName(instanceId)}.${safeName(port)}`;
    if (base.length > MAX_STEM) {
      const digest = createHash('sha256').update(JSON.stringify([instanceId, port])).digest('hex').slice(0, 12);
      base = `${base.slice(0, MAX_STEM - 13)}-${digest}`;
    }
    let stem = base;
    for (let n = 2; this.taken.has(stem.toLowerCase()); n++) stem = `${base}-${n}`;
    this.taken.add(stem.toLowerCase());
    return stem;
  }
}

/** The file formats a pipeline export writes, as the index names them. */
export const EXPORT_FORMATS = ['csv', 'json', 'svg', 'png', 'vl.json', 'data.json', 'safetensors'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportFile {
  readonly format: ExportFormat;
  /** Relative to the export directory, `/`-separated. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Types exported for every cached instance; Checkpoint and Curve only for the instances asked for. */
const ALWAYS: ReadonlySet<PortType> = new Set(['Landscape', 'Metrics', 'Figure']);
const ON_REQUEST: ReadonlySet<PortType> = new Set(['Checkpoint', 'Curve']);

/** Whether an output of this type is exported; `checkpoints` says the instance was named with --checkpoints. */
export function isExported(type: PortType, checkpoints: boolean): boolean {
  return ALWAYS.has(type) || (checkpoints && ON_REQUEST.has(type));
}

/** Whether an output of this type can be asked for with --checkpoints. */
export function isCheckpointType(type: PortType): boolean {
  return ON_REQUEST.has(type);
}

/** JSON for people: pretty printed, typed arrays as plain lists of numbers. */
function prettyJson(value: unknown): string {
  return `${JSON.stringify(value ?? null, (_, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Uint8Array) : v), 2)}\n`;
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** The files of one output under `stem`, or none when its type is not one a pipeline export writes. */
export function outputFiles<T extends PortType>(type: T, value: PortValueMap[T], stem: string): ExportFile[] {
  const t: PortType = type;
  const encoded = (folder: string, format: 'csv' | 'json' | 'safetensors'): ExportFile => ({
    format,
    path: `${folder}/${stem}.${format}`,
    bytes: encodeExport(type, value, `.${format}`).bytes,
  });
  switch (t) {
    case 'Landscape':
      return [encoded('landscapes', 'csv'), encoded('landscapes', 'json')];
    case 'Metrics':
      return [encoded('metrics', 'csv'), encoded('metrics', 'json')];
    case 'Checkpoint':
    case 'Curve':
      return [encoded('checkpoints', 'safetensors')];
    case 'Figure': {
      const figure = value as Figure;
      const at = (format: ExportFormat) => `figures/${stem}.${format}`;
      return [
        { format: 'svg', path: at('svg'), bytes: encodeExport('Figure', figure, '.svg').bytes },
        ...(figure.png ? [{ format: 'png' as const, path: at('png'), bytes: figure.png }] : []),
        ...(figure.spec ? [{ format: 'vl.json' as const, path: at('vl.json'), bytes: utf8(prettyJson(figure.spec)) }] : []),
        { format: 'data.json', path: at('data.json'), bytes: utf8(prettyJson(figure.data)) },
      ];
    }
    case 'Mask':
      // A checkpoint carries its masks; a Mask alone has `export NODE --port mask` for it.
      return [];
  }
}

/** One exported output, as index.json lists it. */
export interface IndexEntry {
  readonly instance: string;
  readonly node: string;
  readonly kind: string;
  /** The instance's sweep coordinates ({} for an instance of no sweep). */
  readonly coords: Coordinates;
  readonly port: string;
  readonly type: PortType;
  readonly key: string;
  /** The files written, by format. */
  readonly files: Partial<Record<ExportFormat, string>>;
  /** A figure's title, when it has one. */
  readonly title?: string;
}

const FIXED_COLUMNS = ['instance', 'node', 'kind', 'port', 'type', 'key', 'format', 'file'] as const;

/** The index column of sweep axis `axis`: its name, or `axis_NAME` where that is a fixed column's name. */
export function axisColumn(axis: string): string {
  return (FIXED_COLUMNS as readonly string[]).includes(axis) ? `axis_${axis}` : axis;
}

/**
 * index.csv: one row per file written, `instance,node,kind,port,type,key,format,file`, then one column
 * per sweep axis of the pipeline (sorted by name; empty where an instance has no such axis). Long rather
 * than wide, so that `index[index.format == 'csv']` picks every table to read.
 */
export function indexCsv(entries: readonly IndexEntry[]): string {
  const axes = [...new Set(entries.flatMap((e) => Object.keys(e.coords)))].sort();
  const rows: (string | number)[][] = [[...FIXED_COLUMNS, ...axes.map(axisColumn)]];
  for (const e of entries) {
    for (const format of EXPORT_FORMATS) {
      const file = e.files[format];
      if (file === undefined) continue;
      rows.push([e.instance, e.node, e.kind, e.port, e.type, e.key, format, file, ...axes.map((a) => (a in e.coords ? String(e.coords[a]) : ''))]);
    }
  }
  return csv(rows);
}

/** index.json: the entries, one per output. */
export function indexJson(entries: readonly IndexEntry[]): string {
  return prettyJson(entries);
}
