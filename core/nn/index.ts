/** The numerical layer: backends, models, initialisation, training, evaluation, checkpoints. */
export * from './backend.js';
export * from './network.js';
export { ARCHITECTURES, buildNetwork, modelSpecFor } from './models/index.js';
export * from './init.js';
export * from './schedules.js';
export * from './sgd.js';
export * from './train.js';
export * from './evaluate.js';
export * from './device.js';
export * from './layout.js';
export * from './safetensors.js';
export * from './resumable.js';
