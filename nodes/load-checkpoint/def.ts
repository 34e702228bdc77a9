/** `load-checkpoint`: a checkpoint from a `.safetensors` file, e.g. one trained elsewhere or exported. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../../engine/node-def.js';

export const loadCheckpointParams = Type.Object(
  {
    path: Type.String({ description: 'The .safetensors file, relative to the pipeline file. Its content (not its path) is part of the key.' }),
    arch: Type.Optional(
      Type.String({ description: 'Architecture, for files without sparsegraph metadata (e.g. saved by PyTorch): lenet300, lenet5, resnet20.' }),
    ),
    input_shape: Type.Array(Type.Integer({ minimum: 1 }), { default: [784], description: 'Input shape, with `arch`.' }),
    classes: Type.Integer({ minimum: 2, default: 10, description: 'Number of classes, with `arch`.' }),
  },
  { additionalProperties: false },
);

export const loadCheckpointInputs = {} as const;

export const loadCheckpoint = defineNode({
  kind: 'load-checkpoint',
  version: 1,
  description:
    'Reads a checkpoint (weights and `<name>.mask` masks) from a .safetensors file, as written by `sparsegraph export` or PyTorch with matching tensor names.',
  params: loadCheckpointParams,
  inputs: loadCheckpointInputs,
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'The weights and masks read from the file.' },
  },
  fileParam: 'path',
  run: async (ctx) => (await import('./run.js')).runLoadCheckpoint(ctx),
});
