/** The work of `load-checkpoint`: a .safetensors file read into a Checkpoint (science/nn/safetensors.ts). */
import { readFile } from 'node:fs/promises';
import type { Checkpoint } from '../../base/values.js';
import type { KindContext } from '../../engine/node-def.js';
import { checkpointFromSafetensors } from '../../science/nn/safetensors.js';
import type { loadCheckpointInputs, loadCheckpointParams } from './def.js';

export async function runLoadCheckpoint({ params }: KindContext<typeof loadCheckpointParams, typeof loadCheckpointInputs>): Promise<{ checkpoint: Checkpoint }> {
  const file = params.path;
  const model = params.arch ? { arch: params.arch, inputShape: params.input_shape, numClasses: params.classes } : undefined;
  return { checkpoint: checkpointFromSafetensors(new Uint8Array(await readFile(file)), { source: file, ...(model ? { model } : {}) }) };
}
