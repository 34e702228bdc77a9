/**
 * Verified reads of blobs for `load` and `loadProgress`: each blob checked as LoadOptions.verify says
 * (xxh64 checksum, sha256 digest or none) and decoded, and the checksums found missing or wrong on the
 * way recorded afterwards.
 */
import type { Digest } from '../base/brand.js';
import type { HostTensor } from '../base/values.js';
import { blobDigest, BlobFormatError, decodeTensor } from './blob-codec.js';
import { blobInfoOf, isBlobInfo, readBlobInfo } from './blob-refs.js';
import { blobChecksum, checksumWhileCopying } from './checksum.js';
import { TABLES } from './layout.js';
import { packRecord, unpackRecord } from './record-codec.js';
import type { StoreAccess } from './store-access.js';
import type { BlobRef, VerifyMode } from './store.js';

export type BlobRead =
  /** `checksums`: verified checksums to record, for blobs whose BlobInfo lacks one or holds a wrong one. */
  | { readonly tensors: Map<Digest, HostTensor>; readonly checksums: Map<Digest, string> }
  | { readonly bad: Digest; readonly detail: string };

/**
 * Verifies each blob as `verify` says (LoadOptions) and decodes it straight from the stored bytes into
 * fresh arrays: one copy per tensor, the minimum for data the caller owns. Reports the first damaged
 * or missing blob instead.
 *
 * With `checksum`, a blob passes when its bytes match BlobInfo.xxh64. A mismatch means that the blob
 * or the checksum record is damaged; the sha256 tells which. Only bytes whose sha256 is their digest
 * are ever decoded without a checksum match, so a damaged checksum record can cost a sha256 but can
 * neither let a damaged blob through nor condemn a sound one.
 */
export function readBlobs(access: StoreAccess, refs: readonly BlobRef[], verify: VerifyMode): BlobRead {
  const table = access.table(TABLES.blobs);
  const tensors = new Map<Digest, HostTensor>();
  const checksums = new Map<Digest, string>();
  for (const { digest } of refs) {
    // Read before `use`: nothing may read the store while `use` lends its bytes.
    const info = verify === 'checksum' ? access.table(TABLES.blobInfo).get(digest) : undefined;
    const expected = info === undefined ? undefined : recordedChecksum(digest, info);
    const outcome = table.use(digest, (bytes): HostTensor | string => {
      // With a recorded checksum, it is computed during the decode (see below); otherwise the bytes
      // are verified first, as they are in `digest` mode.
      const fused = verify === 'checksum' && typeof expected === 'string';
      if (verify === 'checksum' && !fused) {
        if (blobDigest(bytes) !== digest) {
          return expected === null ? 'content matches neither its xxh64 checksum nor its sha256' : 'content does not match its sha256';
        }
        // Sound bytes whose checksum is missing (older store) or whose record is damaged.
        if (info !== undefined) checksums.set(digest, blobChecksum(bytes));
      } else if (verify === 'digest' && blobDigest(bytes) !== digest) {
        return 'content does not match its sha256';
      }
      // Decoding before the checksum is checked is safe: decodeTensor validates every length against
      // the bytes it has, and a tensor whose bytes fail the check below is dropped unseen.
      const sum: { actual?: string } = {};
      let tensor: HostTensor;
      try {
        tensor = decodeTensor(bytes, fused
          ? { copy: true, copyDense: (whole, from, into) => void (sum.actual = checksumWhileCopying(whole, from, into)) }
          : { copy: true });
      } catch (error: unknown) {
        if (error instanceof BlobFormatError) return error.message;
        throw error;
      }
      if (fused) {
        const actual = sum.actual ?? blobChecksum(bytes);
        if (actual !== expected) {
          // The blob or its checksum record is damaged: the sha256 tells which.
          if (blobDigest(bytes) !== digest) return 'content matches neither its xxh64 checksum nor its sha256';
          checksums.set(digest, actual);
        }
      }
      return tensor;
    });
    if (outcome === undefined) return { bad: digest, detail: 'blob is missing' };
    if (typeof outcome === 'string') return { bad: digest, detail: outcome };
    tensors.set(digest, outcome);
  }
  return { tensors, checksums };
}

/**
 * Writes verified checksums into BlobInfo records that lack them or hold wrong ones. Only an
 * optimisation for later loads, so it is not flushed, and a failure leaves the load successful.
 */
export async function recordChecksums(access: StoreAccess, checksums: ReadonlyMap<Digest, string>): Promise<void> {
  if (checksums.size === 0) return;
  try {
    await access.write(() => {
      for (const [digest, xxh64] of checksums) {
        const info = readBlobInfo(access, digest);
        if (info !== undefined && info.xxh64 !== xxh64) {
          access.table(TABLES.blobInfo).put(digest, packRecord(digest, blobInfoOf(info.refs, info.bytes, xxh64)));
        }
      }
    }, false);
  } catch {
    // The data was verified; the next load checks the sha256 again.
  }
}

/**
 * The checksum a stored BlobInfo records: its `xxh64` when that is present, `null` when the record is
 * damaged (does not decode, or holds something else), so that it is checked and repaired like a wrong
 * checksum; undefined when the record has no checksum (written by an older build).
 */
function recordedChecksum(digest: Digest, bytes: Uint8Array): string | null | undefined {
  const read = unpackRecord<unknown>(digest, bytes);
  if (!read.ok || !isBlobInfo(read.value)) return null;
  return read.value.xxh64;
}
