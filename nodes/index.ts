/**
 * The explicit list of node kinds. A kind is available to pipelines only when it is listed here.
 */
import type { AnyNodeDefinition } from '../engine/node-def.js';
import { bezierFit } from './bezier-fit/def.js';
import { evaluate } from './evaluate/def.js';
import { figure } from './figure/def.js';
import { init } from './init/def.js';
import { interpolate } from './interpolate/def.js';
import { loadCheckpoint } from './load-checkpoint/def.js';
import { lotteryReset } from './lottery-reset/def.js';
import { prune } from './prune/def.js';
import { trainDense } from './train-dense/def.js';
import { trainSparseScratch } from './train-sparse-scratch/def.js';

export const builtinKinds: readonly AnyNodeDefinition[] = [
  init,
  trainDense,
  prune,
  trainSparseScratch,
  lotteryReset,
  interpolate,
  bezierFit,
  evaluate,
  figure,
  loadCheckpoint,
];
