/**
 * The one place that imports the tensor library. Everything in science/nn imports `tf` from here, so the
 * core library instance is shared with whichever backend package `selectBackend` loads.
 *
 * `@tensorflow/tfjs-core`'s Node bundle registers no gradient functions; the union package
 * `@tensorflow/tfjs` registers them (into tfjs's global registry) as a side effect, so it is imported
 * once here (~0.2 s). Kernels then run on whichever backend is active.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
export { tf };
export type Tensor = tf.Tensor;
export type Scalar = tf.Scalar;
