/**
 * The explicit list of node kinds. A kind is available to pipelines only when it is listed here.
 */
import type { AnyNodeDefinition } from '../core/node-def.js';
import { bezierFit } from './bezier-fit.js';
import { evaluate } from './evaluate.js';
import { figure } from './figure.js';
import { init } from './init.js';
import { interpolate } from './interpolate.js';
import { loadCheckpoint } from './load-checkpoint.js';
import { lotteryReset } from './lottery-reset.js';
import { prune } from './prune.js';
import { trainDense } from './train-dense.js';
import { trainSparseScratch } from './train-sparse-scratch.js';

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
