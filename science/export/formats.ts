/**
 * Which file formats each port type exports to, chosen by the output file's extension, and which output
 * of a result to export. Tensor-free: safetensors encoding is plain byte work and the tables are text.
 */
import { extname } from 'node:path';
import { checkpointToSafetensors, curveToSafetensors, maskToSafetensors } from '../nn/safetensors.js';
import { PORT_TYPES, type PortType, type PortValueMap } from '../../base/values.js';
import { landscapeToCsv, metricsToCsv, toJson } from './tables.js';

/** An encoded export and what it holds, counted for the person who asked (e.g. { tensors: 2, masks: 1 }). */
export interface Encoded {
  readonly bytes: Uint8Array;
  readonly counts: Readonly<Record<string, number>>;
}

/** How a port type exports: an encoder per extension, and what to count for the summary. */
interface Format<T extends PortType> {
  readonly encoders: Readonly<Record<string, (value: PortValueMap[T]) => Uint8Array | string>>;
  readonly counts: (value: PortValueMap[T]) => Record<string, number>;
}

const count = (record: Readonly<Record<string, unknown>> | undefined) => Object.keys(record ?? {}).length;

const FORMATS: { readonly [T in PortType]: Format<T> } = {
  Checkpoint: { encoders: { '.safetensors': checkpointToSafetensors }, counts: (c) => ({ tensors: count(c.tensors), masks: count(c.masks) }) },
  Mask: { encoders: { '.safetensors': maskToSafetensors }, counts: (m) => ({ masks: count(m.masks) }) },
  Curve: {
    encoders: { '.safetensors': curveToSafetensors },
    counts: (c) => ({ points: c.points.length, tensors: c.points.reduce((s, p) => s + count(p.tensors), 0) }),
  },
  Landscape: { encoders: { '.json': toJson, '.csv': landscapeToCsv }, counts: (l) => ({ points: l.points.length }) },
  Metrics: { encoders: { '.json': toJson, '.csv': metricsToCsv }, counts: (m) => ({ values: count(m.values), series: count(m.series) }) },
  Figure: { encoders: { '.svg': (f) => f.svg }, counts: () => ({}) },
};

/** The lower-cased extension of a file name, with its dot (`.csv`), or '' without one. */
export function extensionOf(file: string): string {
  return extname(file).toLowerCase();
}

export function extensionsFor(type: PortType): string[] {
  return Object.keys(FORMATS[type].encoders);
}

/** The port types a file with this extension can hold. */
export function typesFor(extension: string): PortType[] {
  return PORT_TYPES.filter((t) => extension in FORMATS[t].encoders);
}

/** Every extension export writes, with the types of each, for a usage message. */
export function supportedFormats(): { extension: string; types: PortType[] }[] {
  const extensions = [...new Set(PORT_TYPES.flatMap(extensionsFor))];
  return extensions.map((extension) => ({ extension, types: typesFor(extension) }));
}

/** Encodes a value of `type` for a file with this extension, which must be one of `extensionsFor(type)`. */
export function encodeExport<T extends PortType>(type: T, value: PortValueMap[T], extension: string): Encoded {
  const format: Format<T> = FORMATS[type];
  const encode = format.encoders[extension];
  if (!encode) throw new Error(`a ${type} has no ${extension} encoder; check extensionsFor first`);
  const out = encode(value);
  return { bytes: typeof out === 'string' ? Buffer.from(out, 'utf8') : out, counts: format.counts(value) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The port type of a stored value by its shape, for results whose node kind is not loaded. */
export function portTypeOf(value: unknown): PortType | undefined {
  if (!isObject(value)) return undefined;
  if ('model' in value && 'tensors' in value && 'masks' in value) return 'Checkpoint';
  if ('model' in value && 'masks' in value) return 'Mask';
  if ('family' in value && 'points' in value) return 'Curve';
  if ('axis' in value && 'points' in value) return 'Landscape';
  if ('values' in value) return 'Metrics';
  if ('svg' in value && 'format' in value) return 'Figure';
  return undefined;
}

export interface TypedOutput {
  readonly port: string;
  readonly type: PortType;
}

/** Which output to export into a file; an expected failure says why none could be chosen. */
export type PortChoice =
  | { readonly ok: true; readonly port: string; readonly type: PortType }
  | { readonly ok: false; readonly reason: 'unknown-extension'; readonly extension: string }
  | { readonly ok: false; readonly reason: 'no-such-port'; readonly port: string }
  | { readonly ok: false; readonly reason: 'wrong-extension'; readonly port: string; readonly type: PortType; readonly extension: string }
  | { readonly ok: false; readonly reason: 'no-output-fits'; readonly extension: string }
  | { readonly ok: false; readonly reason: 'several-fit'; readonly extension: string; readonly candidates: readonly TypedOutput[] };

/**
 * `port` when given; otherwise the one output whose type the extension can hold. A result with a single
 * output is treated as if that port were named, so a wrong extension is reported against its type.
 */
export function choosePort(outputs: readonly TypedOutput[], extension: string, port?: string): PortChoice {
  if (typesFor(extension).length === 0) return { ok: false, reason: 'unknown-extension', extension };
  const named = port !== undefined ? outputs.find((o) => o.port === port) : outputs.length === 1 ? outputs[0] : undefined;
  if (port !== undefined && !named) return { ok: false, reason: 'no-such-port', port };
  if (named) {
    return extensionsFor(named.type).includes(extension)
      ? { ok: true, port: named.port, type: named.type }
      : { ok: false, reason: 'wrong-extension', port: named.port, type: named.type, extension };
  }
  const candidates = outputs.filter((o) => extensionsFor(o.type).includes(extension));
  if (candidates.length === 1) return { ok: true, port: candidates[0]!.port, type: candidates[0]!.type };
  return candidates.length === 0 ? { ok: false, reason: 'no-output-fits', extension } : { ok: false, reason: 'several-fit', extension, candidates };
}

/** `.a`, `.a or .b`, `.a, .b or .c`. */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
