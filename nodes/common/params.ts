/**
 * Parameter groups shared by several node kinds, so that "the same hyperparameters as the pruning run"
 * means the same schema, defaults and documentation everywhere.
 */
import { Type, type Static, type TLiteral, type TUnion } from '@sinclair/typebox';
import { DatasetSpecSchema, type DatasetFields } from '../../science/data/spec.js';
import { ARCHITECTURE_DOCS, INITIALIZER_DOCS, SCHEDULE_DOCS } from '../../science/nn/names.js';
import { LR_FINAL_DEFAULTS, LR_GAMMA_DEFAULT } from '../../science/nn/schedules.js';

/** A schema accepting exactly the given names, documented from their descriptions. */
export function namesUnion<N extends string>(docs: Readonly<Record<N, string>>, options: { default?: NoInfer<N>; description: string }): TUnion<TLiteral<N>[]> {
  const names = Object.keys(docs) as N[];
  const listed = names.map((n) => `${n}: ${docs[n]}`).join('; ');
  return Type.Union(
    names.map((n) => Type.Literal(n)),
    { ...(options.default === undefined ? {} : { default: options.default }), description: `${options.description} (${listed})` },
  );
}

/** The architecture names of science/nn/names.ts. */
export const ArchParam = namesUnion(ARCHITECTURE_DOCS, { default: 'lenet300', description: 'Architecture' });

export const InitializerParam = namesUnion(INITIALIZER_DOCS, { default: 'glorot_uniform', description: 'Initialiser' });

/** The dataset a node reads (science/data/spec.ts). */
export const DatasetParam = DatasetSpecSchema;
export type DatasetParam = DatasetFields;

export const ScheduleParam = namesUnion(SCHEDULE_DOCS, { default: 'cosine', description: 'Learning-rate schedule' });

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
  lr_final: Type.Optional(
    Type.Number({
      minimum: 0,
      description: `cosine and mode-connectivity: the final rate as a fraction of \`lr\` (cosine ${LR_FINAL_DEFAULTS.cosine}, mode-connectivity ${LR_FINAL_DEFAULTS['mode-connectivity']} by default).`,
    }),
  ),
  lr_milestones: Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
    default: [],
    description: 'step: epochs (fractions allowed) at which the rate is multiplied by `lr_gamma`.',
  }),
  lr_gamma: Type.Number({ exclusiveMinimum: 0, default: LR_GAMMA_DEFAULT, description: 'step: factor applied at each milestone.' }),
  warmup_steps: Type.Integer({ minimum: 0, default: 0, description: 'Linear learning-rate warm-up steps.' }),
  label_smoothing: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Label smoothing of the cross-entropy.' }),
  data_seed: Type.Integer({
    default: 0,
    description:
      'Seed of the data order (the minibatches of every epoch), separate from the initialisation seed: `init`\'s `seed` does not set it. In a seed sweep write `data_seed: "${item.seed}"` on the node, as torch.manual_seed(seed) would set both.',
  }),
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

/** The parameters every training kind shares, as one schema (for the adapter to the training loop). */
export const TrainingParams = Type.Object({ ...trainingParams });
export type TrainingParams = Static<typeof TrainingParams>;

/** Where a checkpoint or a path is evaluated. */
export const EvaluationParams = Type.Object({ ...evaluationParams });
export type EvaluationParams = Static<typeof EvaluationParams>;

/**
 * Continuing a run at its input's step (the step a checkpoint carries): instability analysis branches a
 * run at step k with it, and IMP rewinding retrains a level from step k with it. What continues and what
 * restarts is `continueFromCheckpointStep` of science/nn/train.ts.
 */
export const continueFromStepParam = Type.Boolean({
  default: false,
  description:
    "Start at the input checkpoint's step k (a `snapshot` of a run with the same length, data order and schedule, or that snapshot rewound under a mask) and train only the remaining steps k+1..end: the weights, the data order and the learning-rate schedule continue from k, momentum starts from zero (as open_lth's rewinding does). Instability analysis branches a run at step k this way; IMP with rewinding retrains each level from step k this way.",
});
