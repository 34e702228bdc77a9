/**
 * The values that cross the walls between analysis, executor, cache and node kinds.
 *
 * Everything here is plain data (typed arrays, numbers, strings): no tfjs tensors, so values can be
 * posted between worker threads, stored by the cache and exported without a tensor backend loaded.
 */

/** The six port types a node kind can declare. Connecting two ports checks these names. */
export const PORT_TYPES = ['Checkpoint', 'Mask', 'Curve', 'Landscape', 'Metrics', 'Figure'] as const;
export type PortType = (typeof PORT_TYPES)[number];

export type DType = 'float32' | 'int32' | 'uint8';
export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : Uint8Array;

/** A tensor held in host memory. `data.length` equals the product of `shape`. */
export interface HostTensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayOf<D>;
}

/** Names a model architecture and everything needed to rebuild its layers. */
export interface ModelSpec {
  /** Registered architecture name, e.g. `lenet300`, `lenet5`, `resnet20`. */
  readonly arch: string;
  /** Input shape without the batch dimension, e.g. [784] or [32, 32, 3]. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Architecture options (widths, batch norm...), part of what identifies the model. */
  readonly options?: Readonly<Record<string, unknown>>;
}

/**
 * Named weights of a model, with optional masks. Tensor names follow PyTorch's convention
 * (`fc1.weight`, `fc1.bias`), so an exported checkpoint loads elsewhere without renaming.
 * A mask has the weight's shape, dtype uint8, 1 = kept; only prunable tensors have one.
 */
export interface Checkpoint {
  readonly model: ModelSpec;
  readonly tensors: Readonly<Record<string, HostTensor<'float32'>>>;
  readonly masks: Readonly<Record<string, HostTensor<'uint8'>>>;
  /** Training step this checkpoint was taken at (0 for an initialisation). */
  readonly step: number;
  /** Free-form facts about how it was made (seed, final loss...), for people and figures. */
  readonly meta?: Readonly<Record<string, number | string | boolean>>;
}

/** A set of masks for a model's prunable tensors. */
export interface Mask {
  readonly model: ModelSpec;
  readonly masks: Readonly<Record<string, HostTensor<'uint8'>>>;
}

/**
 * A parametric path between two checkpoints. `points[0]` and `points[points.length-1]` are the fixed end
 * points; the others are control points. `degree` 1 is the straight line.
 */
export interface Curve {
  readonly family: 'bezier' | 'polychain';
  readonly degree: number;
  /** `sparse`: control points live on the end points' mask; `dense`: every weight may move. */
  readonly subspace: 'sparse' | 'dense';
  readonly points: readonly Checkpoint[];
}

/** One evaluated point of a path through weight space. */
export interface LandscapePoint {
  /** Position on the path: t for a curve, alpha for linear interpolation. */
  readonly x: number;
  readonly split: 'train' | 'test';
  readonly loss: number;
  readonly accuracy: number;
}

export interface Landscape {
  readonly axis: 't' | 'alpha';
  readonly points: readonly LandscapePoint[];
  /** What the path connects, for legends: e.g. { from: 'scratch', to: 'pruned' }. */
  readonly label?: Readonly<Record<string, string>>;
}

/** Scalars and short series a node reports (loss, accuracy, sparsity, barrier height...). */
export interface Metrics {
  readonly values: Readonly<Record<string, number>>;
  readonly series?: Readonly<Record<string, readonly number[]>>;
}

export interface Figure {
  readonly format: 'svg';
  readonly svg: string;
  /** The same figure as PNG bytes (rendered from the SVG with a bundled font), when rendered. */
  readonly png?: Uint8Array;
  /** The Vega-Lite spec it was drawn from, data inlined: open it in the Vega editor to restyle it. */
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly title?: string;
  /** The data the figure was drawn from, so it can be re-plotted or tabulated elsewhere. */
  readonly data: unknown;
}

export interface PortValueMap {
  Checkpoint: Checkpoint;
  Mask: Mask;
  Curve: Curve;
  Landscape: Landscape;
  Metrics: Metrics;
  Figure: Figure;
}
export type PortValue<T extends PortType = PortType> = PortValueMap[T];

/** Sweep coordinates of a node instance, e.g. { s: 0.9, seed: 1 }. */
export type Coordinates = Readonly<Record<string, string | number | boolean>>;

/** One value delivered to a gathering port. */
export interface GatheredValue<T = PortValue> {
  /** The label given in the pipeline (a key of the port's map), or the position as a string. */
  readonly label: string;
  readonly coords: Coordinates;
  readonly value: T;
}

/** Progress a running node reports; the CLI turns it into a line with step, loss and ETA. */
export interface ProgressEvent {
  readonly step?: number;
  readonly totalSteps?: number;
  readonly epoch?: number;
  readonly loss?: number;
  /** Learning rate of the last step. */
  readonly lr?: number;
  readonly message?: string;
}
