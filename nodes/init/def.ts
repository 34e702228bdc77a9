/** `init`: a model's initial weights from a seed (optionally sparse, scaled to the surviving fan-in). */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../../engine/node-def.js';
import { ArchParam, InitializerParam } from '../common/params.js';

export const initParams = Type.Object(
  {
    arch: ArchParam,
    arch_options: Type.Optional(
      Type.Object(
        {
          hidden: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, description: 'mlp: hidden layer widths.' })),
          blocks: Type.Optional(Type.Integer({ minimum: 1, description: 'resnet: basic blocks per stage (3: ResNet-20).' })),
          width: Type.Optional(Type.Integer({ minimum: 1, description: 'resnet: channels of the first stage.' })),
        },
        { additionalProperties: false, description: 'Options of the architecture (part of the model spec).' },
      ),
    ),
    input_shape: Type.Array(Type.Integer({ minimum: 1 }), {
      minItems: 1,
      default: [784],
      description: 'Input shape without the batch dimension ([784] for MNIST MLPs, [28, 28, 1] or [32, 32, 3] for convolutional networks).',
    }),
    classes: Type.Integer({ minimum: 2, default: 10, description: 'Number of output classes.' }),
    initializer: InitializerParam,
    seed: Type.Integer({ default: 0, description: 'Initialisation seed: the same seed gives identical weights.' }),
    stream: Type.String({
      default: 'init',
      description:
        'Random stream mixed with the seed: the same seed on another stream (e.g. `scratch`) gives independent weights, so a sweep over seeds can draw both.',
    }),
  },
  { additionalProperties: false },
);

export const initInputs = {
  mask: { type: 'Mask', optional: true, doc: 'Apply this mask to the drawn weights (a sparse initialisation).' },
} as const;

export const init = defineNode({
  kind: 'init',
  version: 2,
  description: "A model's initial weights, drawn from a seed; with a mask, a sparse initialisation.",
  params: initParams,
  inputs: initInputs,
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'The initial weights (step 0), masked when a mask is given.' },
  },
  tensorBackend: true,
  seed: (params) => params.seed,
  run: async (ctx) => (await import('./run.js')).runInit(ctx),
});
