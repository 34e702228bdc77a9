/**
 * Checkpoints, masks and curves as `.safetensors` (https://github.com/huggingface/safetensors): 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw little-endian
 * data. Weights keep checkpoint (PyTorch) names and layout, so `safetensors.torch.load_file` + a matching
 * nn.Module's `load_state_dict` work unchanged. Masks go in the same file as uint8 tensors named
 * `<weight name>.mask` (dtype U8, 1 = kept); torch users drop them with a filter on the suffix.
 *
 * `__metadata__` (string values only, per the format) says what the file holds: `type` (Checkpoint, Mask
 * or Curve; a file without it, e.g. one saved by torch, is a checkpoint) and `model` (the ModelSpec as
 * JSON); a checkpoint adds `step` and `meta` (JSON).
 *
 * A curve is one file named as timgaripov/dnn-mode-connectivity names a curve's parameters: tensor NAME of
 * point k is `NAME_k` (point 0 is the start, the last point the end). When every point has the same masks
 * they are written once as `NAME.mask` (`masks: shared`), otherwise per point as `NAME_k.mask`
 * (`masks: per-point`). Metadata adds `family`, `degree`, `subspace`, `points` (the count), and per point
 * `steps` and `metas` (JSON lists), so a curve reads back equal.
 *
 * Only types are imported: reading and writing these files never loads a tensor backend.
 */
import type { Checkpoint, Curve, HostTensor, Mask, ModelSpec } from '../../base/values.js';

const MASK_SUFFIX = '.mask';
const DTYPES = { float32: 'F32', uint8: 'U8', int32: 'I32' } as const;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** What a sparsegraph safetensors file holds, from `__metadata__.type`. */
export type SafetensorsContent = 'Checkpoint' | 'Mask' | 'Curve';

/** Encodes named tensors and string metadata; names sorted and data 8-byte aligned, as the reference writes. */
export function encodeSafetensors(tensors: Readonly<Record<string, HostTensor>>, metadata: Readonly<Record<string, string>>): Uint8Array {
  const entries = Object.entries(tensors).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, HeaderEntry | Readonly<Record<string, string>>> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = t.data.byteLength;
    header[name] = { dtype: DTYPES[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    // Typed arrays are little-endian on every platform Node supports, as the format requires.
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** The tensors (F32 and U8 only, as sparsegraph writes them) and metadata of a safetensors file. */
export function decodeSafetensors(
  bytes: Uint8Array,
  where: string,
): { tensors: Record<string, HostTensor<'float32'> | HostTensor<'uint8'>>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error(`${where}: truncated (no header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw new Error(`${where}: header length ${headerLength} exceeds the file size ${bytes.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${where}: header is not JSON (${(err as Error).message})`);
  }
  const data = bytes.subarray(8 + headerLength);
  const metadata = (header['__metadata__'] ?? {}) as Record<string, string>;
  const tensors: Record<string, HostTensor<'float32'> | HostTensor<'uint8'>> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as HeaderEntry;
    const [begin, end] = e.data_offsets;
    if (end > data.length || begin > end) throw new Error(`${where}: tensor ${name} data_offsets [${begin}, ${end}] outside the ${data.length} data bytes`);
    // Copy so the result owns aligned memory, independent of the file buffer (Buffer's slice is a view).
    const chunk = new Uint8Array(data.subarray(begin, end));
    const count = e.shape.reduce((a, b) => a * b, 1);
    const width = e.dtype === 'F32' ? 4 : e.dtype === 'U8' ? 1 : undefined;
    if (width === undefined) throw new Error(`${where}: tensor ${name} has dtype ${e.dtype}; sparsegraph files hold F32 tensors and U8 masks`);
    if (chunk.byteLength !== count * width) throw new Error(`${where}: tensor ${name} has ${chunk.byteLength} bytes for shape [${e.shape.join(', ')}]`);
    tensors[name] =
      width === 4
        ? { dtype: 'float32', shape: e.shape, data: new Float32Array(chunk.buffer, chunk.byteOffset, count) }
        : { dtype: 'uint8', shape: e.shape, data: chunk };
  }
  return { tensors, metadata };
}

function expectContent(metadata: Record<string, string>, wanted: SafetensorsContent, where: string): void {
  const found = metadata['type'] ?? 'Checkpoint';
  if (found !== wanted) throw new Error(`${where}: holds a ${found}, not a ${wanted}`);
}

function modelOf(metadata: Record<string, string>, given: ModelSpec | undefined, where: string): ModelSpec {
  const model = given ?? (metadata['model'] ? (JSON.parse(metadata['model']) as ModelSpec) : undefined);
  if (!model) throw new Error(`${where}: no model spec in __metadata__.model; pass one`);
  return model;
}

function asFloat(t: HostTensor, name: string, where: string): HostTensor<'float32'> {
  if (t.dtype !== 'float32') throw new Error(`${where}: tensor ${name} has dtype U8; only masks (NAME.mask) are U8`);
  return t as HostTensor<'float32'>;
}

function asMask(t: HostTensor, name: string, where: string): HostTensor<'uint8'> {
  if (t.dtype !== 'uint8') throw new Error(`${where}: mask ${name} has dtype F32; masks are U8`);
  return t as HostTensor<'uint8'>;
}

function withMaskSuffix(masks: Readonly<Record<string, HostTensor<'uint8'>>>, suffix = ''): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(masks).map(([k, v]) => [k + suffix + MASK_SUFFIX, v]));
}

/** Encodes a checkpoint (weights + masks) as safetensors bytes. */
export function checkpointToSafetensors(ckpt: Checkpoint): Uint8Array {
  const tensors: Record<string, HostTensor> = { ...ckpt.tensors };
  for (const [name, mask] of Object.entries(withMaskSuffix(ckpt.masks))) {
    if (name in tensors) throw new Error(`duplicate tensor name ${name}`);
    tensors[name] = mask;
  }
  return encodeSafetensors(tensors, {
    format: 'pt',
    type: 'Checkpoint',
    model: JSON.stringify(ckpt.model),
    step: String(ckpt.step),
    meta: JSON.stringify(ckpt.meta ?? {}),
  });
}

/** Decodes safetensors bytes written by `checkpointToSafetensors` (or by torch, given `model`). */
export function checkpointFromSafetensors(bytes: Uint8Array, opts: { model?: ModelSpec; source?: string } = {}): Checkpoint {
  const where = opts.source ?? 'safetensors data';
  const { tensors: all, metadata } = decodeSafetensors(bytes, where);
  expectContent(metadata, 'Checkpoint', where);
  const model = modelOf(metadata, opts.model, where);
  const tensors: Record<string, HostTensor<'float32'>> = {};
  const masks: Record<string, HostTensor<'uint8'>> = {};
  for (const [name, t] of Object.entries(all)) {
    if (t.dtype === 'uint8' && name.endsWith(MASK_SUFFIX)) masks[name.slice(0, -MASK_SUFFIX.length)] = t;
    else tensors[name] = asFloat(t, name, where);
  }
  const meta = metadata['meta'] ? (JSON.parse(metadata['meta']) as Record<string, number | string | boolean>) : undefined;
  const step = metadata['step'] !== undefined ? Number(metadata['step']) : 0;
  return meta ? { model, tensors, masks, step, meta } : { model, tensors, masks, step };
}

/** Encodes a mask set as `NAME.mask` U8 tensors, as a checkpoint carries its masks. */
export function maskToSafetensors(mask: Mask): Uint8Array {
  return encodeSafetensors(withMaskSuffix(mask.masks), { format: 'pt', type: 'Mask', model: JSON.stringify(mask.model) });
}

export function maskFromSafetensors(bytes: Uint8Array, opts: { source?: string } = {}): Mask {
  const where = opts.source ?? 'safetensors data';
  const { tensors, metadata } = decodeSafetensors(bytes, where);
  expectContent(metadata, 'Mask', where);
  const masks: Record<string, HostTensor<'uint8'>> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.endsWith(MASK_SUFFIX)) throw new Error(`${where}: tensor ${name} in a mask file is not named NAME.mask`);
    masks[name.slice(0, -MASK_SUFFIX.length)] = asMask(t, name, where);
  }
  return { model: modelOf(metadata, undefined, where), masks };
}

function sameTensor(a: HostTensor | undefined, b: HostTensor | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  return Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));
}

/** True when every point carries the same mask names with equal contents: then one `NAME.mask` each. */
function masksShared(points: readonly Checkpoint[]): boolean {
  const first = points[0]!.masks;
  const names = Object.keys(first);
  return points.every((p) => Object.keys(p.masks).length === names.length && names.every((n) => sameTensor(p.masks[n], first[n])));
}

/** Encodes a curve's points as `NAME_k` tensors (dnn-mode-connectivity's naming) and their masks, in one file. */
export function curveToSafetensors(curve: Curve): Uint8Array {
  const first = curve.points[0];
  if (!first) throw new Error('a curve has at least its two end points; this one has none');
  const model = JSON.stringify(first.model);
  const shared = masksShared(curve.points);
  const tensors: Record<string, HostTensor> = shared ? withMaskSuffix(first.masks) : {};
  curve.points.forEach((point, k) => {
    if (JSON.stringify(point.model) !== model) throw new Error(`curve point ${k} has model ${JSON.stringify(point.model)}, point 0 ${model}`);
    const named: Record<string, HostTensor> = Object.fromEntries(Object.entries(point.tensors).map(([n, t]) => [`${n}_${k}`, t]));
    if (!shared) Object.assign(named, withMaskSuffix(point.masks, `_${k}`));
    for (const [name, t] of Object.entries(named)) {
      if (name in tensors) throw new Error(`duplicate tensor name ${name}`);
      tensors[name] = t;
    }
  });
  return encodeSafetensors(tensors, {
    format: 'pt',
    type: 'Curve',
    model,
    family: curve.family,
    degree: String(curve.degree),
    subspace: curve.subspace,
    points: String(curve.points.length),
    masks: shared ? 'shared' : 'per-point',
    steps: JSON.stringify(curve.points.map((p) => p.step)),
    metas: JSON.stringify(curve.points.map((p) => p.meta ?? null)),
  });
}

/** Splits `NAME_k` into NAME and k; undefined when the name has no point suffix. */
function pointOf(name: string): { base: string; k: number } | undefined {
  const m = /^(.+)_(\d+)$/.exec(name);
  return m ? { base: m[1]!, k: Number(m[2]) } : undefined;
}

/** Decodes a curve written by `curveToSafetensors`. */
export function curveFromSafetensors(bytes: Uint8Array, opts: { source?: string } = {}): Curve {
  const where = opts.source ?? 'safetensors data';
  const { tensors, metadata } = decodeSafetensors(bytes, where);
  expectContent(metadata, 'Curve', where);
  const model = modelOf(metadata, undefined, where);
  const family = metadata['family'];
  const subspace = metadata['subspace'];
  const degree = Number(metadata['degree']);
  const count = Number(metadata['points']);
  if (family !== 'bezier' && family !== 'polychain') throw new Error(`${where}: curve family '${family}' is neither bezier nor polychain`);
  if (subspace !== 'sparse' && subspace !== 'dense') throw new Error(`${where}: curve subspace '${subspace}' is neither sparse nor dense`);
  if (!Number.isInteger(degree) || degree < 1) throw new Error(`${where}: curve degree '${metadata['degree']}' is not a positive integer`);
  if (!Number.isInteger(count) || count < 2) throw new Error(`${where}: a curve has at least 2 points, the metadata says '${metadata['points']}'`);
  const shared = metadata['masks'] !== 'per-point';
  const steps = metadata['steps'] ? (JSON.parse(metadata['steps']) as number[]) : [];
  const metas = metadata['metas'] ? (JSON.parse(metadata['metas']) as (Record<string, number | string | boolean> | null)[]) : [];
  const points = Array.from({ length: count }, () => ({ tensors: {} as Record<string, HostTensor<'float32'>>, masks: {} as Record<string, HostTensor<'uint8'>> }));
  const sharedMasks: Record<string, HostTensor<'uint8'>> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const isMask = name.endsWith(MASK_SUFFIX);
    const stem = isMask ? name.slice(0, -MASK_SUFFIX.length) : name;
    if (isMask && shared) {
      sharedMasks[stem] = asMask(t, name, where);
      continue;
    }
    const at = pointOf(stem);
    const point = at && points[at.k];
    if (!at || !point) throw new Error(`${where}: tensor ${name} does not name one of the ${count} points (NAME_k with k from 0 to ${count - 1})`);
    if (isMask) point.masks[at.base] = asMask(t, name, where);
    else point.tensors[at.base] = asFloat(t, name, where);
  }
  return {
    family,
    degree,
    subspace,
    points: points.map((p, k): Checkpoint => {
      const meta = metas[k];
      const base = { model, tensors: p.tensors, masks: shared ? sharedMasks : p.masks, step: steps[k] ?? 0 };
      return meta ? { ...base, meta } : base;
    }),
  };
}
