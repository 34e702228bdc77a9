/**
 * The encoding of every non-blob value the cache stores (records, progress, claims, pins, last runs,
 * blob metadata, the format record) and of bundle headers: MessagePack without shared structures, so
 * that each value's bytes stand alone and can be copied into a bundle or another store unchanged.
 * MessagePack (unlike JSON) keeps NaN, Infinity, undefined, Dates and typed arrays; -0 is handled by
 * tree-codec.ts.
 *
 * A value stored in a table is framed (store format 2, layout.ts) so that damage is detected when it is
 * read, as blob damage is:
 *
 *   offset  size  field
 *   0       4     magic "SGR" and the frame version (1)
 *   4       8     xxh64 (seed 0, big-endian) of every byte from offset 12 to the end
 *   12      4     K, the byte length of the key (little-endian)
 *   16      K     the key the value was stored under (UTF-8)
 *   16+K    ...   the MessagePack value
 *
 * The key inside the checksummed bytes is compared with the key the value was found under, so a flipped
 * bit in a table's key cannot serve a record under a key it was not written for.
 */
import { Packr } from 'msgpackr';
import { thrownMessage } from '../base/thrown.js';
import { checksum64 } from './checksum.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

const MAGIC = [0x53, 0x47, 0x52, 0x01] as const;
const HEADER_BYTES = 16;
const CHECKED_FROM = 12;

export function packValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function unpackValue<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

/** `value` framed for storage under `key` (see above). */
export function packRecord(key: string, value: unknown): Uint8Array {
  const keyBytes = Buffer.from(key, 'utf8');
  const payload = packr.pack(value);
  const frame = new Uint8Array(HEADER_BYTES + keyBytes.length + payload.length);
  frame.set(MAGIC, 0);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  view.setUint32(CHECKED_FROM, keyBytes.length, true);
  frame.set(keyBytes, HEADER_BYTES);
  frame.set(payload, HEADER_BYTES + keyBytes.length);
  view.setBigUint64(4, checksum64(frame.subarray(CHECKED_FROM)), false);
  return frame;
}

/** What reading a framed value found: the value, or why it cannot be trusted. */
export type RecordRead<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly detail: string };

/**
 * Checks a framed value found under `key` without decoding it: the problem, or undefined when the frame,
 * its checksum and its key are sound.
 */
export function checkRecord(key: string, bytes: Uint8Array): string | undefined {
  if (bytes.length < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) return 'not a framed record';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getBigUint64(4, false) !== checksum64(bytes.subarray(CHECKED_FROM))) return 'checksum mismatch';
  const keyLength = view.getUint32(CHECKED_FROM, true);
  if (HEADER_BYTES + keyLength > bytes.length) return 'key length out of range';
  // Compared as bytes: a flipped bit may leave invalid UTF-8, which decoding would paper over.
  const expected = Buffer.from(key, 'utf8');
  if (keyLength !== expected.length || !expected.equals(bytes.subarray(HEADER_BYTES, HEADER_BYTES + keyLength))) {
    return `stored under the wrong key (it was written for ${JSON.stringify(Buffer.from(bytes.subarray(HEADER_BYTES, HEADER_BYTES + keyLength)).toString('utf8').slice(0, 80))})`;
  }
  return undefined;
}

/** Checks (as `checkRecord`) and decodes a framed value found under `key`. */
export function unpackRecord<T>(key: string, bytes: Uint8Array): RecordRead<T> {
  const problem = checkRecord(key, bytes);
  if (problem !== undefined) return { ok: false, detail: problem };
  const keyLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(CHECKED_FROM, true);
  try {
    return { ok: true, value: packr.unpack(bytes.subarray(HEADER_BYTES + keyLength)) as T };
  } catch (error: unknown) {
    // Only a writer with a bug (or another tool) frames bytes that are not MessagePack.
    return { ok: false, detail: `does not decode (${thrownMessage(error)})` };
  }
}
