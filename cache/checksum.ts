/**
 * The fast checksum the store keeps beside every blob (BlobInfo.xxh64 in layout.ts): xxHash64, seed 0,
 * as 16 lowercase hex digits. `load` checks it instead of the blob's sha256 (which stays the blob's
 * identity: its content address, dedup and bundles), because xxh64 runs at roughly 5x the speed of
 * sha256 here, which is what lets a verified read stay within 2x of a memcpy.
 *
 * xxh64 detects accidental damage (flipped bits, torn or truncated values) as reliably as any 64-bit
 * checksum; it is not a defence against someone who can write the store (nor is sha256 on load, since
 * such a person could rewrite the records too). Bundles, which cross that boundary, verify sha256.
 *
 * xxhash-wasm compiles its WebAssembly module asynchronously; it is instantiated once per module
 * instance (each process or worker thread), by the top-level await below.
 */
import xxhash from 'xxhash-wasm';

const { h64Raw, create64 } = await xxhash();

/**
 * Input is handed to WebAssembly memory in chunks of this size: it bounds that memory (h64Raw would grow
 * it to the largest blob ever hashed, for the life of the process), and a chunk copied there is still in
 * cache when it is hashed, which makes chunked hashing slightly faster than one large call.
 */
const CHUNK_BYTES = 256 * 1024;

/** Name of the checksum algorithm, as recorded in store documentation and messages. */
export const CHECKSUM_ALGORITHM = 'xxh64';

/** xxHash64 (seed 0) of `bytes`, as 16 lowercase hex digits. */
export function blobChecksum(bytes: Uint8Array): string {
  return hex(checksum64(bytes));
}

/** xxHash64 (seed 0) of `bytes`, as a number: what record frames (record-codec.ts) store. */
export function checksum64(bytes: Uint8Array): bigint {
  if (bytes.length <= CHUNK_BYTES) return h64Raw(bytes);
  const state = create64();
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) state.update(bytes.subarray(at, at + CHUNK_BYTES));
  return state.digest();
}

/**
 * `blobChecksum(bytes)`, computed while copying `bytes.subarray(from)` into `into` (which has exactly
 * that length): each chunk is copied while it is still in the CPU cache from being hashed, so the bytes
 * cross the memory bus once instead of twice. This is how `load` checks and copies a dense tensor.
 */
export function checksumWhileCopying(bytes: Uint8Array, from: number, into: Uint8Array): string {
  if (into.length !== bytes.length - from) throw new RangeError(`cannot copy ${bytes.length - from} bytes into ${into.length}`);
  const state = create64();
  if (from > 0) state.update(bytes.subarray(0, from));
  for (let at = from; at < bytes.length; at += CHUNK_BYTES) {
    const chunk = bytes.subarray(at, at + CHUNK_BYTES);
    state.update(chunk);
    into.set(chunk, at - from);
  }
  return hex(state.digest());
}

function hex(hash: bigint): string {
  return hash.toString(16).padStart(16, '0');
}
