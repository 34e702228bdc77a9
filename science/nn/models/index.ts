/** Architectures by name. An unknown name is an error listing the known ones. */
import type { ModelSpec } from '../../../base/values.js';
import type { ArchitectureName } from '../names.js';
import type { Network } from '../network.js';
import { lenet5 } from './lenet5.js';
import { mlp } from './mlp.js';
import { resnet } from './resnet.js';

function numberList(v: unknown, fallback: readonly number[]): readonly number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x) && x > 0) ? (v as number[]) : fallback;
}

/** Registered architectures: `ModelSpec.arch` to a builder reading `ModelSpec.options`. */
export const ARCHITECTURES: Readonly<Record<ArchitectureName, (spec: ModelSpec) => Network>> = {
  /** LeNet-300-100: 784-300-100-10 ReLU, no batch norm. */
  lenet300: (spec) => mlp(spec, [300, 100]),
  /** Any ReLU MLP: options.hidden = [widths...] (default [300, 100]). */
  mlp: (spec) => mlp(spec, numberList(spec.options?.hidden, [300, 100])),
  lenet5: (spec) => lenet5(spec),
  /** options.blocks: basic blocks per stage (default 3: ResNet-20); options.width: first stage width (16). */
  resnet20: (spec) => resnet(spec, Number(spec.options?.blocks ?? 3), Number(spec.options?.width ?? 16)),
  /** Same builder as resnet20, named for its default depth 6n+2 with options.blocks = n. */
  resnet: (spec) => resnet(spec, Number(spec.options?.blocks ?? 3), Number(spec.options?.width ?? 16)),
};

/** Builds the network for a spec; the same spec always gives the same parameter list. */
export function buildNetwork(spec: ModelSpec): Network {
  const build = (ARCHITECTURES as Readonly<Record<string, (spec: ModelSpec) => Network>>)[spec.arch];
  if (!build) throw new Error(`unknown architecture '${spec.arch}'; known: ${Object.keys(ARCHITECTURES).join(', ')}`);
  return build(spec);
}

/** The ModelSpec of a named architecture for a dataset's sample shape and class count. */
export function modelSpecFor(arch: string, sampleShape: readonly number[], numClasses: number, options?: Record<string, unknown>): ModelSpec {
  const flat = arch === 'lenet300' || arch === 'mlp';
  const inputShape = flat ? [sampleShape.reduce((a, b) => a * b, 1)] : [...sampleShape];
  return options ? { arch, inputShape, numClasses, options } : { arch, inputShape, numClasses };
}
