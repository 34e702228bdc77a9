/** `init`: a model's initial weights from a seed (optionally sparse, scaled to the surviving fan-in). */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../core/node-def.js';

export const init = defineNode({
  kind: 'init',
  version: 1,
  description: "A model's initial weights, drawn from a seed; with a mask, a sparse initialisation.",
  params: Type.Object(
    {
      arch: Type.Union([Type.Literal('lenet300'), Type.Literal('lenet5'), Type.Literal('resnet20')], {
        default: 'lenet300',
        description: 'Architecture: LeNet-300-100, LeNet-5, or a ResNet-20-style network with batch norm.',
      }),
      input_shape: Type.Array(Type.Integer({ minimum: 1 }), {
        minItems: 1,
        default: [784],
        description: 'Input shape without the batch dimension ([784] for MNIST MLPs, [32, 32, 3] for CIFAR-10).',
      }),
      classes: Type.Integer({ minimum: 2, default: 10, description: 'Number of output classes.' }),
      initializer: Type.Union(
        [
          Type.Literal('glorot_uniform'),
          Type.Literal('glorot_normal'),
          Type.Literal('he_uniform'),
          Type.Literal('he_normal'),
          Type.Literal('sparse_glorot_uniform'),
          Type.Literal('sparse_he_normal'),
        ],
        {
          default: 'glorot_uniform',
          description: 'Initialiser; the sparse_* variants scale by the fan-in that survives the mask.',
        },
      ),
      seed: Type.Integer({ default: 0, description: 'Initialisation seed: the same seed gives identical weights.' }),
      stream: Type.String({
        default: 'init',
        description:
          'Random stream mixed with the seed: the same seed on another stream (e.g. `scratch`) gives independent weights, so a sweep over seeds can draw both.',
      }),
    },
    { additionalProperties: false },
  ),
  inputs: {
    mask: { type: 'Mask', optional: true, doc: 'Apply this mask to the drawn weights (a sparse initialisation).' },
  },
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'The initial weights (step 0), masked when a mask is given.' },
  },
  tensorBackend: true,
  seed: (params) => params.seed,
});
