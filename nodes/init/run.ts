/** The science of `init`: host-side initialisation, bit-identical for the same parameters. */
import { initCheckpoint } from '../../science/nn/init.js';
import type { KindContext } from '../../engine/node-def.js';
import type { Checkpoint, ModelSpec } from '../../base/values.js';
import type { initInputs, initParams } from './def.js';
import { sameModel } from '../common/run-support.js';

export async function runInit(ctx: KindContext<typeof initParams, typeof initInputs>): Promise<{ checkpoint: Checkpoint }> {
  const { params, inputs } = ctx;
  const model: ModelSpec = {
    arch: params.arch,
    inputShape: params.input_shape,
    numClasses: params.classes,
    ...(params.arch_options && Object.keys(params.arch_options).length > 0 ? { options: params.arch_options } : {}),
  };
  if (inputs.mask) sameModel(inputs.mask.model, model, 'the mask');
  const checkpoint = initCheckpoint({ model, initializer: params.initializer, seed: params.seed, stream: params.stream, ...(inputs.mask ? { masks: inputs.mask.masks } : {}) });
  return { checkpoint };
}
