/**
 * The names that both the pipeline schemas and the numerical layer know: architectures, initialisers
 * and learning-rate schedules. Nothing here imports a tensor library, so the node definitions build
 * their schemas from these lists and analysis stays backend-free; the numerical layer checks its own
 * tables against them (test/nn/names.test.ts), so a name a schema accepts always runs.
 */
import { LR_FINAL_DEFAULTS } from './schedules.js';

/** Model architectures, with what each one is; `ModelSpec.arch` takes these names. */
export const ARCHITECTURE_DOCS = {
  lenet300: 'LeNet-300-100: 784-300-100-10 ReLU MLP, no batch norm',
  mlp: 'any ReLU MLP: options.hidden = [widths...] (default [300, 100])',
  lenet5: 'LeNet-5: two 5x5 convolutions with max pooling, then 120-84-K',
  resnet20: 'CIFAR ResNet-20 with batch norm (options.blocks per stage, default 3; options.width, default 16)',
  resnet: 'CIFAR ResNet of depth 6n+2 with options.blocks = n (same builder as resnet20)',
} as const;
export type ArchitectureName = keyof typeof ARCHITECTURE_DOCS;
export const ARCHITECTURE_NAMES = Object.keys(ARCHITECTURE_DOCS) as ArchitectureName[];

/**
 * `glorot_*`: Var = 2/(fan_in+fan_out); `he_*`: Var = 2/fan_in; `_uniform` or `_normal` (plain normal,
 * not truncated, as PyTorch's xavier_normal_/kaiming_normal_). `*_scaled` are the sparsity-aware
 * variants (Evci et al.): fan_in of each output unit (and fan_out of each input unit) counts only the
 * connections its mask keeps.
 */
export const INITIALIZER_DOCS = {
  glorot_uniform: 'Glorot/Xavier uniform (Keras default, rigl MNIST MLP)',
  glorot_normal: 'Glorot/Xavier normal',
  he_uniform: 'He/Kaiming uniform',
  he_normal: 'He/Kaiming normal',
  glorot_uniform_scaled: 'Glorot uniform with the fan-in and fan-out that survive the mask',
  glorot_normal_scaled: 'Glorot normal with the fan-in and fan-out that survive the mask',
  he_uniform_scaled: 'He uniform with the fan-in that survives the mask',
  he_normal_scaled: 'He normal with the fan-in that survives the mask',
} as const;
export type InitializerName = keyof typeof INITIALIZER_DOCS;
export const INITIALIZERS = Object.keys(INITIALIZER_DOCS) as InitializerName[];

/** Learning-rate schedules; each is a pure function of the step (science/nn/schedules.ts). */
export const SCHEDULE_DOCS = {
  constant: 'the base rate throughout',
  cosine: 'cosine decay from the base rate to lr_final x base at the last step',
  step: 'multiplied by lr_gamma at each of lr_milestones (in epochs)',
  'mode-connectivity': `Garipov et al.: the base rate for the first half, then linearly down to lr_final x base (default ${LR_FINAL_DEFAULTS['mode-connectivity']}) at 90%`,
} as const;
export type ScheduleName = keyof typeof SCHEDULE_DOCS;
export const SCHEDULE_NAMES = Object.keys(SCHEDULE_DOCS) as ScheduleName[];

/** Dynamic sparse training methods of train-sparse-scratch. */
export const SPARSE_METHOD_DOCS = {
  static: 'the mask stays fixed (the paper\'s scratch and lottery runs)',
  set: 'SET (Mocanu et al. 2018): drop the smallest-magnitude weights, regrow at random',
  rigl: 'RigL (Evci et al. 2020): drop the smallest-magnitude weights, regrow those with the largest dense gradient',
} as const;
export type SparseMethod = keyof typeof SPARSE_METHOD_DOCS;
export const SPARSE_METHODS = Object.keys(SPARSE_METHOD_DOCS) as SparseMethod[];
