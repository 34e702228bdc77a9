/**
 * The bridge between `train`'s resumable state and a node's RunContext. The state a run saved through
 * `saveProgress` is where the next run of the same node starts, so a killed training node resumes at its
 * last saved step and ends bit-identical to an uninterrupted run: data order and learning rate are
 * functions of the step, and momentum, loss sums and snapshots travel in the state.
 *
 * A training node kind then needs one line more than a plain run:
 *
 *   const result = await train(start, { ...options, ...(await resumableTraining(ctx)) });
 *
 * The saved tree holds only what the cache's value trees store (plain objects, arrays, numbers, strings
 * and HostTensors `{dtype, shape, data}`), and is checked when it comes back: a state that does not fit
 * is reported and ignored, never half-used.
 */
import type { ProgressEvent } from '../../base/values.js';
import type { Checkpoint, DType, HostTensor } from '../../base/values.js';
import type { CurveFitState } from './curve-fit.js';
import type { LoopCounters, LoopProgress } from './loop.js';
import type { TrainOptions, TrainState } from './train.js';

/** Bump when the saved layout changes: a state of another format is ignored and training starts over. */
export const TRAIN_STATE_FORMAT = 2;

/** What the bridge uses of a node's RunContext (a RunContext is one). */
export interface ProgressChannel {
  readonly saveProgress: (state: Record<string, unknown>) => Promise<void>;
  readonly loadProgress: () => Promise<Record<string, unknown> | undefined>;
  readonly signal: AbortSignal;
  readonly progress: (event: ProgressEvent) => void;
}

export interface ResumableOptions {
  /** Save the state every this many steps; default at the end of each epoch (and always at the end). */
  readonly stateEvery?: number;
  /** Report progress every this many steps; default train's (50). */
  readonly progressEvery?: number;
}

/** The TrainOptions the bridge fills in; spread them into the rest. */
export interface ResumableTrainOptions extends Pick<TrainOptions, 'resume' | 'onState' | 'stateEvery' | 'signal' | 'onProgress' | 'progressEvery'> {
  readonly onState: NonNullable<TrainOptions['onState']>;
  readonly signal: AbortSignal;
  readonly onProgress: NonNullable<TrainOptions['onProgress']>;
}

/** How one kind of run's state is saved, checked when it comes back, and named in messages. */
interface StateCodec<S> {
  encode(state: S): Record<string, unknown>;
  decode(tree: Record<string, unknown>): { readonly ok: true; readonly state: S } | { readonly ok: false; readonly reason: string };
  stepOf(state: S): number;
  /** e.g. `training state ignored (...); training from the start`. */
  readonly state: string;
  readonly restart: string;
}

/**
 * Loads the saved state (if any) and returns the options that resume from it, save the state through
 * `saveProgress`, stop on the node's signal and forward progress: the same for every run on the loop.
 */
async function resumable<S>(ctx: ProgressChannel, codec: StateCodec<S>, opts: ResumableOptions) {
  const saved = await ctx.loadProgress();
  let resume: S | undefined;
  if (saved !== undefined) {
    const decoded = codec.decode(saved);
    if (decoded.ok) {
      resume = decoded.state;
      const step = codec.stepOf(decoded.state);
      ctx.progress({ step, message: `resumed at step ${step}` });
    } else {
      ctx.progress({ message: `saved ${codec.state} ignored (${decoded.reason}); ${codec.restart} from the start` });
    }
  }
  // Intervals only when given: spread over a node's own options, an undefined would reset them.
  return {
    resume,
    onState: (state: S) => ctx.saveProgress(codec.encode(state)),
    ...(opts.stateEvery === undefined ? {} : { stateEvery: opts.stateEvery }),
    signal: ctx.signal,
    onProgress: (p: LoopProgress) => ctx.progress({ step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, loss: p.loss, lr: p.lr }),
    ...(opts.progressEvery === undefined ? {} : { progressEvery: opts.progressEvery }),
  };
}

/** The resumable options of a training run (`train`). */
export function resumableTraining(ctx: ProgressChannel, opts: ResumableOptions = {}): Promise<ResumableTrainOptions> {
  return resumable(ctx, { encode: encodeTrainState, decode: decodeTrainState, stepOf: (s) => s.checkpoint.step, state: 'training state', restart: 'training' }, opts);
}

/** The resumable options of a curve fit (`fitCurve`). */
export function resumableCurveFit(ctx: ProgressChannel, opts: ResumableOptions = {}) {
  return resumable(ctx, { encode: encodeCurveFitState, decode: decodeCurveFitState, stepOf: (s) => s.step, state: 'curve-fit state', restart: 'fitting' }, opts);
}

/** The state as a cache value tree. `train` hands out fresh plain objects, so nothing is copied. */
export function encodeTrainState(state: TrainState): Record<string, unknown> {
  return { format: TRAIN_STATE_FORMAT, ...state };
}

export type DecodedTrainState = { readonly ok: true; readonly state: TrainState } | { readonly ok: false; readonly reason: string };

/** Checks a tree that `loadProgress` returned against the layout `encodeTrainState` writes. */
export function decodeTrainState(tree: Record<string, unknown>): DecodedTrainState {
  if (tree['format'] !== TRAIN_STATE_FORMAT) return { ok: false, reason: `format ${String(tree['format'])}, expected ${TRAIN_STATE_FORMAT}` };
  const problem =
    checkpointProblem(tree['checkpoint'], 'checkpoint') ??
    tensorsProblem(tree['momentum'], 'momentum', 'float32') ??
    countersProblem(tree) ??
    (Array.isArray(tree['snapshots']) ? tree['snapshots'].map((s, i) => checkpointProblem(s, `snapshots[${i}]`)).find((p) => p !== undefined) : 'snapshots is not a list');
  if (problem !== undefined) return { ok: false, reason: problem };
  // Each field was checked above.
  const state: TrainState = {
    checkpoint: tree['checkpoint'] as Checkpoint,
    momentum: tree['momentum'] as TrainState['momentum'],
    ...countersOf(tree),
    snapshots: tree['snapshots'] as Checkpoint[],
  };
  return { ok: true, state };
}

const numberList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'number');

const COUNTER_NUMBERS = ['lossSum', 'lossCount', 'lastLoss', 'windowSum', 'windowCount'] as const;
const COUNTER_LISTS = ['curve', 'curveSteps'] as const;

/** What is wrong with the step loop's counters in a saved tree, if anything. */
function countersProblem(tree: Record<string, unknown>): string | undefined {
  return (
    COUNTER_NUMBERS.map((k) => (typeof tree[k] === 'number' ? undefined : `${k} is not a number`)).find((p) => p !== undefined) ??
    COUNTER_LISTS.map((k) => (numberList(tree[k]) ? undefined : `${k} is not a list of numbers`)).find((p) => p !== undefined)
  );
}

/** The loop's counters (but the step) of a tree `countersProblem` passed. */
function countersOf(tree: Record<string, unknown>): Omit<LoopCounters, 'step'> {
  return {
    lossSum: tree['lossSum'] as number,
    lossCount: tree['lossCount'] as number,
    lastLoss: tree['lastLoss'] as number,
    windowSum: tree['windowSum'] as number,
    windowCount: tree['windowCount'] as number,
    curve: tree['curve'] as number[],
    curveSteps: tree['curveSteps'] as number[],
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkpointProblem(v: unknown, path: string): string | undefined {
  if (!isRecord(v)) return `${path} is not an object`;
  if (!isRecord(v['model']) || typeof v['model']['arch'] !== 'string') return `${path}.model is not a model spec`;
  if (!Number.isInteger(v['step']) || (v['step'] as number) < 0) return `${path}.step is not a step count`;
  return tensorsProblem(v['tensors'], `${path}.tensors`, 'float32') ?? tensorsProblem(v['masks'], `${path}.masks`, 'uint8');
}

const ARRAY_OF: Readonly<Record<DType, new (n: number) => HostTensor['data']>> = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array };

function tensorsProblem(v: unknown, path: string, dtype: DType): string | undefined {
  if (!isRecord(v)) return `${path} is not an object`;
  for (const [name, t] of Object.entries(v)) {
    if (!isRecord(t) || t['dtype'] !== dtype || !(t['data'] instanceof ARRAY_OF[dtype]) || !Array.isArray(t['shape'])) return `${path}.${name} is not a ${dtype} tensor`;
    const size = (t['shape'] as unknown[]).reduce<number>((a, b) => a * (typeof b === 'number' ? b : NaN), 1);
    if (size !== t['data'].length) return `${path}.${name} has ${t['data'].length} values for shape [${(t['shape'] as unknown[]).join(', ')}]`;
  }
  return undefined;
}

/** Bump when the curve-fit state's layout changes. */
export const CURVE_FIT_STATE_FORMAT = 1;

/** A curve fit's state as a cache value tree. */
export function encodeCurveFitState(state: CurveFitState): Record<string, unknown> {
  return { format: CURVE_FIT_STATE_FORMAT, kind: 'curve-fit', ...state };
}

export type DecodedCurveFitState = { readonly ok: true; readonly state: CurveFitState } | { readonly ok: false; readonly reason: string };

/** Checks a tree that `loadProgress` returned against the layout `encodeCurveFitState` writes. */
export function decodeCurveFitState(tree: Record<string, unknown>): DecodedCurveFitState {
  if (tree['format'] !== CURVE_FIT_STATE_FORMAT || tree['kind'] !== 'curve-fit') return { ok: false, reason: `not a curve-fit state of format ${CURVE_FIT_STATE_FORMAT}` };
  const controls = tree['controls'];
  const momentum = tree['momentum'];
  const problem =
    (Number.isInteger(tree['step']) && (tree['step'] as number) >= 0 ? undefined : 'step is not a step count') ??
    countersProblem(tree) ??
    (Array.isArray(controls) ? controls.map((c, i) => checkpointProblem(c, `controls[${i}]`)).find((p) => p !== undefined) : 'controls is not a list') ??
    (Array.isArray(momentum) && Array.isArray(controls) && momentum.length === controls.length
      ? momentum.map((m, i) => tensorsProblem(m, `momentum[${i}]`, 'float32')).find((p) => p !== undefined)
      : 'momentum does not match the control points');
  if (problem !== undefined) return { ok: false, reason: problem };
  // Each field was checked above.
  const state: CurveFitState = {
    step: tree['step'] as number,
    ...countersOf(tree),
    controls: controls as Checkpoint[],
    momentum: momentum as Record<string, HostTensor<'float32'>>[],
  };
  return { ok: true, state };
}
