/**
 * Checkpoints as `.safetensors` (https://github.com/huggingface/safetensors): 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw little-endian data.
 * Weights keep checkpoint (PyTorch) names and layout, so `safetensors.torch.load_file` + a matching
 * nn.Module's `load_state_dict` work unchanged. Masks go in the same file as uint8 tensors named
 * `<weight name>.mask` (dtype U8, 1 = kept); torch users drop them with a filter on the suffix.
 * `__metadata__` (string values only, per the format) carries `model` (the ModelSpec as JSON), `step`,
 * and `meta` (the checkpoint's meta as JSON).
 */
import type { Checkpoint, HostTensor, ModelSpec } from '../values.js';

const MASK_SUFFIX = '.mask';
const DTYPES = { float32: 'F32', uint8: 'U8', int32: 'I32' } as const;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Encodes a checkpoint (weights + masks) as safetensors bytes. */
export function checkpointToSafetensors(ckpt: Checkpoint): Uint8Array {
  const entries: [string, HostTensor][] = [
    ...Object.entries(ckpt.tensors),
    ...Object.entries(ckpt.masks).map(([k, v]): [string, HostTensor] => [k + MASK_SUFFIX, v]),
  ];
  // Sorted names and aligned offsets, as the reference implementation writes them.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, HeaderEntry | Record<string, string>> = {
    __metadata__: { format: 'pt', model: JSON.stringify(ckpt.model), step: String(ckpt.step), meta: JSON.stringify(ckpt.meta ?? {}) },
  };
  let offset = 0;
  for (const [name, t] of entries) {
    if (name in header) throw new Error(`duplicate tensor name ${name}`);
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

/** Decodes safetensors bytes written by `checkpointToSafetensors` (or by torch, given `model`). */
export function checkpointFromSafetensors(bytes: Uint8Array, opts: { model?: ModelSpec; source?: string } = {}): Checkpoint {
  const where = opts.source ?? 'safetensors data';
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
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const model = opts.model ?? (metadata.model ? (JSON.parse(metadata.model) as ModelSpec) : undefined);
  if (!model) throw new Error(`${where}: no model spec in __metadata__.model; pass one`);
  const tensors: Record<string, HostTensor<'float32'>> = {};
  const masks: Record<string, HostTensor<'uint8'>> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as HeaderEntry;
    const [begin, end] = e.data_offsets;
    if (end > data.length || begin > end) throw new Error(`${where}: tensor ${name} data_offsets [${begin}, ${end}] outside the ${data.length} data bytes`);
    // Copy so the result owns aligned memory, independent of the file buffer.
    const chunk = data.slice(begin, end);
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (e.dtype === 'U8' && name.endsWith(MASK_SUFFIX)) {
      masks[name.slice(0, -MASK_SUFFIX.length)] = { dtype: 'uint8', shape: e.shape, data: chunk };
    } else if (e.dtype === 'F32') {
      if (chunk.byteLength !== count * 4) throw new Error(`${where}: tensor ${name} has ${chunk.byteLength} bytes for shape [${e.shape.join(', ')}]`);
      tensors[name] = { dtype: 'float32', shape: e.shape, data: new Float32Array(chunk.buffer, chunk.byteOffset, count) };
    } else {
      throw new Error(`${where}: tensor ${name} has dtype ${e.dtype}; checkpoints hold F32 tensors and U8 masks`);
    }
  }
  const meta = metadata.meta ? (JSON.parse(metadata.meta) as Record<string, number | string | boolean>) : undefined;
  const step = metadata.step !== undefined ? Number(metadata.step) : 0;
  return meta ? { model, tensors, masks, step, meta } : { model, tensors, masks, step };
}
