/**
 * Blobs and their reference counts (BlobInfo): storing new blobs, counting the results and progress
 * states that list each one, and deleting a blob once nothing lists it. Everything here except
 * `readBlobInfo`, `withChecksums` and the BlobInfo helpers runs inside a write transaction only.
 */
import type { Digest, NodeKey } from '../base/brand.js';
import { blobChecksum } from './checksum.js';
import { TABLES, type BlobInfo, type StoredProgress, type StoredResult } from './layout.js';
import { packRecord, unpackRecord } from './record-codec.js';
import type { StoreAccess } from './store-access.js';
import type { BlobRef } from './store.js';

/** A blob about to be stored, with its checksum (computed before the write transaction starts). */
export interface NewBlob {
  readonly bytes: Uint8Array;
  readonly xxh64: string;
}

export function withChecksums(blobs: ReadonlyMap<Digest, Uint8Array>): Map<Digest, NewBlob> {
  return new Map([...blobs].map(([digest, bytes]) => [digest, { bytes, xxh64: blobChecksum(bytes) }]));
}

/** A BlobInfo value; the checksum is left out when unknown (never stored as undefined or null). */
export function blobInfoOf(refs: number, bytes: number, xxh64: string | undefined): BlobInfo {
  return xxh64 === undefined ? { refs, bytes } : { refs, bytes, xxh64 };
}

export function isBlobInfo(value: unknown): value is BlobInfo {
  if (typeof value !== 'object' || value === null) return false;
  const { refs, bytes, xxh64 } = value as Record<string, unknown>;
  return typeof refs === 'number' && typeof bytes === 'number' && (xxh64 === undefined || typeof xxh64 === 'string');
}

/** The BlobInfo of `digest`; undefined when absent or damaged (`load` repairs a damaged one). */
export function readBlobInfo(access: StoreAccess, digest: Digest): BlobInfo | undefined {
  const bytes = access.table(TABLES.blobInfo).get(digest);
  if (bytes === undefined) return undefined;
  const read = unpackRecord<unknown>(digest, bytes);
  return read.ok && isBlobInfo(read.value) ? read.value : undefined;
}

/**
 * Stores blobs not yet stored, and records the checksum of each given blob where its BlobInfo lacks
 * one (a blob stored by an older build). `blobs` hold correct bytes: their sha256 is their digest.
 */
export function storeBlobs(access: StoreAccess, blobs: ReadonlyMap<Digest, NewBlob>): void {
  const table = access.table(TABLES.blobs);
  const infos = access.table(TABLES.blobInfo);
  for (const [digest, { bytes, xxh64 }] of blobs) {
    if (!table.has(digest)) table.put(digest, bytes);
    const info = readBlobInfo(access, digest);
    if (info === undefined) infos.put(digest, packRecord(digest, blobInfoOf(0, bytes.length, xxh64)));
    else if (info.xxh64 !== xxh64) infos.put(digest, packRecord(digest, blobInfoOf(info.refs, info.bytes, xxh64)));
  }
}

export function retain(access: StoreAccess, refs: readonly BlobRef[]): void {
  const table = access.table(TABLES.blobInfo);
  for (const { digest, bytes } of refs) {
    const info = readBlobInfo(access, digest);
    table.put(digest, packRecord(digest, blobInfoOf((info?.refs ?? 0) + 1, info?.bytes ?? bytes, info?.xxh64)));
  }
}

export function release(access: StoreAccess, refs: readonly BlobRef[]): void {
  for (const { digest } of refs) {
    const info = readBlobInfo(access, digest);
    if (info === undefined) continue;
    if (info.refs <= 1) dropBlob(access, digest);
    else access.table(TABLES.blobInfo).put(digest, packRecord(digest, blobInfoOf(info.refs - 1, info.bytes, info.xxh64)));
  }
}

export function dropBlob(access: StoreAccess, digest: Digest): void {
  access.table(TABLES.blobs).remove(digest);
  access.table(TABLES.blobInfo).remove(digest);
}

export function removeResult(access: StoreAccess, key: NodeKey, stored: StoredResult): void {
  release(access, stored.blobs);
  access.table(TABLES.results).remove(key);
}

export function removeProgress(access: StoreAccess, key: NodeKey): void {
  const stored = access.get<StoredProgress>(TABLES.progress, key);
  if (stored === undefined) return;
  release(access, stored.blobs);
  access.table(TABLES.progress).remove(key);
}
