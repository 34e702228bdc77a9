/**
 * Checks that a value really is the port type a kind declared, before the executor stores it: a kind
 * that returns a Mask where a Checkpoint is declared fails its node here, instead of failing whichever
 * node loads it later (or a figure drawing nonsense).
 *
 * One function per port type in ./values.ts. Each returns the first problem found, worded to follow
 * "is not a Checkpoint: ", or undefined when the value is well formed. No tensor library here.
 */
import type { PortType } from '../base/values.js';

/** A problem with a value, for a message: e.g. "missing 'tensors'". undefined means the value is fine. */
export type ValueProblem = string | undefined;

export function checkPortValue(type: PortType, value: unknown): ValueProblem {
  return CHECKS[type](value);
}

const CHECKS: Readonly<Record<PortType, (value: unknown) => ValueProblem>> = {
  Checkpoint: checkCheckpoint,
  Mask: checkMask,
  Curve: checkCurve,
  Landscape: checkLandscape,
  Metrics: checkMetrics,
  Figure: checkFigure,
};

export function checkCheckpoint(value: unknown): ValueProblem {
  if (!isRecord(value)) return `got ${describe(value)}`;
  const model = checkModelSpec(value);
  if (model) return model;
  if (!('tensors' in value)) return "missing 'tensors'";
  if (!isRecord(value.tensors)) return `'tensors' is ${describe(value.tensors)}, not an object of tensors`;
  for (const [name, tensor] of Object.entries(value.tensors)) {
    const problem = checkHostTensor(tensor, 'float32');
    if (problem) return `tensor '${name}': ${problem}`;
  }
  const masks = checkMasks(value, value.tensors as Record<string, { shape: readonly number[] }>);
  if (masks) return masks;
  if (!('step' in value)) return "missing 'step'";
  if (!isNonNegativeInteger(value.step)) return `'step' is ${describe(value.step)}, not a non-negative integer`;
  if (value.meta !== undefined) {
    if (!isRecord(value.meta)) return `'meta' is ${describe(value.meta)}, not an object`;
    for (const [k, v] of Object.entries(value.meta)) {
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') return `meta '${k}' is ${describe(v)}, not a number, string or boolean`;
    }
  }
  return undefined;
}

export function checkMask(value: unknown): ValueProblem {
  if (!isRecord(value)) return `got ${describe(value)}`;
  return checkModelSpec(value) ?? checkMasks(value, undefined);
}

export function checkCurve(value: unknown): ValueProblem {
  if (!isRecord(value)) return `got ${describe(value)}`;
  if (value.family !== 'bezier' && value.family !== 'polychain') return `'family' is ${describe(value.family)}, not 'bezier' or 'polychain'`;
  if (value.subspace !== 'sparse' && value.subspace !== 'dense') return `'subspace' is ${describe(value.subspace)}, not 'sparse' or 'dense'`;
  if (!('points' in value)) return "missing 'points'";
  if (!Array.isArray(value.points)) return `'points' is ${describe(value.points)}, not a list of checkpoints`;
  const points = value.points as unknown[];
  if (points.length < 2) return `'points' has ${points.length} checkpoint(s); a curve needs both end points`;
  if (!isInteger(value.degree) || value.degree < 1) return `'degree' is ${describe(value.degree)}, not a positive integer`;
  if (value.family === 'bezier' && value.degree !== points.length - 1) {
    return `a Bezier curve of degree ${value.degree} needs ${value.degree + 1} points, got ${points.length}`;
  }
  for (const [i, point] of points.entries()) {
    const problem = checkCheckpoint(point);
    if (problem) return `point ${i}: ${problem}`;
  }
  // Layers mix the points tensor by tensor: every point must have the first one's tensors and shapes.
  const first = (points[0] as { tensors: Record<string, { shape: readonly number[] }> }).tensors;
  for (const [i, point] of points.entries()) {
    const tensors = (point as { tensors: Record<string, { shape: readonly number[] }> }).tensors;
    for (const name of Object.keys(first)) {
      if (!(name in tensors)) return `point ${i}: has no tensor '${name}' (point 0 has)`;
      if (!sameShape(tensors[name]!.shape, first[name]!.shape)) {
        return `point ${i}: tensor '${name}' has shape ${shapeText(tensors[name]!.shape)}, point 0 has ${shapeText(first[name]!.shape)}`;
      }
    }
    for (const name of Object.keys(tensors)) if (!(name in first)) return `point ${i}: has tensor '${name}' that point 0 lacks`;
  }
  return undefined;
}

export function checkLandscape(value: unknown): ValueProblem {
  if (!isRecord(value)) return `got ${describe(value)}`;
  if (value.axis !== 't' && value.axis !== 'alpha') return `'axis' is ${describe(value.axis)}, not 't' or 'alpha'`;
  if (!('points' in value)) return "missing 'points'";
  if (!Array.isArray(value.points)) return `'points' is ${describe(value.points)}, not a list`;
  for (const [i, p] of (value.points as unknown[]).entries()) {
    if (!isRecord(p)) return `point ${i} is ${describe(p)}`;
    if (typeof p.x !== 'number' || !Number.isFinite(p.x)) return `point ${i}: 'x' is ${describe(p.x)}, not a finite number`;
    if (p.split !== 'train' && p.split !== 'test') return `point ${i}: 'split' is ${describe(p.split)}, not 'train' or 'test'`;
    // A diverged model has an infinite or NaN loss: that is a result worth storing, not a bug.
    if (typeof p.loss !== 'number') return `point ${i}: 'loss' is ${describe(p.loss)}, not a number`;
    if (typeof p.accuracy !== 'number' || !(Number.isNaN(p.accuracy) || (p.accuracy >= 0 && p.accuracy <= 1))) {
      return `point ${i}: 'accuracy' is ${describe(p.accuracy)}, not a fraction in [0, 1]`;
    }
  }
  return value.label === undefined ? undefined : stringRecord(value.label, 'label');
}

export function checkMetrics(value: unknown): ValueProblem {
  if (!isRecord(value)) return `got ${describe(value)}`;
  if (!('values' in value)) return "missing 'values'";
  if (!isRecord(value.values)) return `'values' is ${describe(value.values)}, not an object of numbers`;
  for (const [k, v] of Object.entries(value.values)) if (typeof v !== 'number') return `value '${k}' is ${describe(v)}, not a number`;
  if (value.series !== undefined) {
    if (!isRecord(value.series)) return `'series' is ${describe(value.series)}, not an object of lists`;
    for (const [k, s] of Object.entries(value.series)) {
      if (!Array.isArray(s)) return `series '${k}' is ${describe(s)}, not a list of numbers`;
      const bad = (s as unknown[]).findIndex((x) => typeof x !== 'number');
      if (bad >= 0) return `series '${k}' item ${bad} is ${describe((s as unknown[])[bad])}, not a number`;
    }
  }
  return undefined;
}

export function checkFigure(value: unknown): ValueProblem {
  if (!isRecord(value)) return `got ${describe(value)}`;
  if (value.format !== 'svg') return `'format' is ${describe(value.format)}, not 'svg'`;
  if (typeof value.svg !== 'string') return `'svg' is ${describe(value.svg)}, not a string`;
  if (!value.svg.includes('<svg')) return "'svg' holds no <svg> element";
  if (!('data' in value)) return "missing 'data' (the data the figure was drawn from)";
  return undefined;
}

/** The `model` field of a Checkpoint or a Mask. */
function checkModelSpec(value: Record<string, unknown>): ValueProblem {
  if (!('model' in value)) return "missing 'model'";
  const model = value.model;
  if (!isRecord(model)) return `'model' is ${describe(model)}, not a model spec`;
  if (typeof model.arch !== 'string' || model.arch === '') return `'model.arch' is ${describe(model.arch)}, not an architecture name`;
  if (!Array.isArray(model.inputShape) || !(model.inputShape as unknown[]).every((d) => isInteger(d) && d > 0)) {
    return `'model.inputShape' is ${describe(model.inputShape)}, not a list of positive integers`;
  }
  if (!isInteger(model.numClasses) || model.numClasses < 1) return `'model.numClasses' is ${describe(model.numClasses)}, not a positive integer`;
  if (model.options !== undefined && !isRecord(model.options)) return `'model.options' is ${describe(model.options)}, not an object`;
  return undefined;
}

/** `masks` of a Checkpoint (each on a weight it has, with that weight's shape) or of a Mask. */
function checkMasks(value: Record<string, unknown>, weights: Record<string, { shape: readonly number[] }> | undefined): ValueProblem {
  if (!('masks' in value)) return "missing 'masks'";
  if (!isRecord(value.masks)) return `'masks' is ${describe(value.masks)}, not an object of masks`;
  for (const [name, mask] of Object.entries(value.masks)) {
    const problem = checkHostTensor(mask, 'uint8');
    if (problem) return `mask '${name}': ${problem}`;
    const m = mask as { shape: readonly number[]; data: Uint8Array };
    if (weights) {
      const weight = weights[name];
      if (!weight) return `mask '${name}' has no tensor '${name}' to mask`;
      if (!sameShape(m.shape, weight.shape)) return `mask '${name}' has shape ${shapeText(m.shape)}, its weight ${shapeText(weight.shape)}`;
    }
    const bad = m.data.findIndex((x) => x > 1);
    if (bad >= 0) return `mask '${name}' holds ${m.data[bad]} at index ${bad}; a mask holds only 0 and 1`;
  }
  return undefined;
}

const ARRAY_OF = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array } as const;

function checkHostTensor(tensor: unknown, dtype: keyof typeof ARRAY_OF): ValueProblem {
  if (!isRecord(tensor)) return `is ${describe(tensor)}, not a tensor`;
  if (tensor.dtype !== dtype) return `dtype is ${describe(tensor.dtype)}, expected '${dtype}'`;
  if (!Array.isArray(tensor.shape) || !(tensor.shape as unknown[]).every(isNonNegativeInteger)) {
    return `shape is ${describe(tensor.shape)}, not a list of non-negative integers`;
  }
  if (!(tensor.data instanceof ARRAY_OF[dtype])) return `data is ${describe(tensor.data)}, not a ${ARRAY_OF[dtype].name}`;
  const shape = tensor.shape as number[];
  const size = shape.reduce((a, b) => a * b, 1);
  if (tensor.data.length !== size) return `data has ${tensor.data.length} values, shape ${shapeText(shape)} needs ${size}`;
  return undefined;
}

function stringRecord(value: unknown, name: string): ValueProblem {
  if (!isRecord(value)) return `'${name}' is ${describe(value)}, not an object of strings`;
  for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') return `${name} '${k}' is ${describe(v)}, not a string`;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return isInteger(value) && value >= 0;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A short description of what was found instead, for messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
