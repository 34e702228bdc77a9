/**
 * Splits a value tree into a manifest (the tree with every tensor replaced by a reference to its blob)
 * plus the encoded blobs, and joins them back. Plain objects and arrays are walked; every other value
 * (strings, numbers, booleans, null, undefined, Dates, bare typed arrays) is kept in the manifest as is.
 * Only HostTensors (`{dtype, shape, data}`) become blobs.
 */
import type { Digest } from '../base/brand.js';
import type { HostTensor } from '../base/values.js';
import { blobDigest, encodeTensor, tensorProblem, type EncodeOptions } from './blob-codec.js';
import type { NegativeZeroNode, TensorRefNode } from './layout.js';

export interface SplitTree {
  readonly manifest: Record<string, unknown>;
  /** Encoded blobs by digest (equal tensors appear once). */
  readonly blobs: ReadonlyMap<Digest, Uint8Array>;
}

const RESERVED = '$sg';

/** Encodes every tensor of `tree` and builds the manifest. */
export function splitTree(tree: Record<string, unknown>, options: EncodeOptions = {}): SplitTree {
  const pending: { node: { digest: Digest; bytes: number }; encoded: Uint8Array }[] = [];
  const seen = new Map<object, TensorRefNode>();
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'number') return Object.is(value, -0) ? ({ $sg: '-0' } satisfies NegativeZeroNode) : value;
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (isTensorLike(value)) {
      const known = seen.get(value);
      if (known !== undefined) return known;
      const problem = tensorProblem(value);
      if (problem !== undefined) throw new TypeError(`${path}: ${problem}`);
      const extra = Object.keys(value).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data');
      if (extra.length > 0) throw new TypeError(`${path}: a tensor may only have dtype, shape and data (found ${extra.join(', ')})`);
      const encoded = encodeTensor(value, options);
      const node = { $sg: 'tensor' as const, digest: '' as Digest, bytes: encoded.length };
      pending.push({ node, encoded });
      seen.set(value, node);
      return node;
    }
    if (!isPlainObject(value)) return value;
    if (Object.hasOwn(value, RESERVED)) throw new TypeError(`${path}: the key "${RESERVED}" is reserved by the cache`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, `${path}.${k}`);
    return out;
  };
  const manifest = walk(tree, 'outputs') as Record<string, unknown>;
  const blobs = new Map<Digest, Uint8Array>();
  for (const p of pending) {
    p.node.digest = blobDigest(p.encoded);
    blobs.set(p.node.digest, p.encoded);
  }
  return { manifest, blobs };
}

/** The distinct blob digests a manifest references, in first-seen order. */
export function manifestDigests(manifest: unknown): Digest[] {
  const found = new Set<Digest>();
  const walk = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) return value.forEach(walk);
    if (!isPlainObject(value)) return;
    if (isTensorRef(value)) {
      found.add(value.digest);
      return;
    }
    for (const v of Object.values(value)) walk(v);
  };
  walk(manifest);
  return [...found];
}

/**
 * Rebuilds the tree from a manifest and decoded tensors. A digest referenced twice yields two tensors
 * with separate data, so mutating one output never changes another.
 */
export function joinTree(manifest: Record<string, unknown>, tensors: ReadonlyMap<Digest, HostTensor>): Record<string, unknown> {
  const handedOut = new Set<Digest>();
  const walk = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map(walk);
    if (!isPlainObject(value)) return value;
    if (isTensorRef(value)) {
      const tensor = tensors.get(value.digest);
      if (tensor === undefined) throw new Error(`tensor ${value.digest.slice(0, 12)} missing while rebuilding a tree`);
      if (!handedOut.has(value.digest)) {
        handedOut.add(value.digest);
        return tensor;
      }
      return { dtype: tensor.dtype, shape: [...tensor.shape], data: tensor.data.slice() };
    }
    if (value[RESERVED] === '-0') return -0;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v);
    return out;
  };
  return walk(manifest) as Record<string, unknown>;
}

function isTensorLike(value: object): value is HostTensor {
  return 'dtype' in value && 'shape' in value && 'data' in value && ArrayBuffer.isView((value as { data: unknown }).data);
}

function isTensorRef(value: Record<string, unknown>): value is TensorRefNode & Record<string, unknown> {
  return value[RESERVED] === 'tensor' && typeof value['digest'] === 'string';
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
