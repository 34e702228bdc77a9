/**
 * Bundles: one self-describing file carrying results (with everything they were computed from) from one
 * cache to another, so that a colleague re-runs a pipeline with zero nodes executed.
 *
 * Format version 1 (integers little-endian):
 *
 *   offset  size  field
 *   0       8     magic "SGBUNDLE"
 *   8       4     format version (1)
 *   12      4     header length H
 *   16      32    sha256 of the header bytes
 *   48      H     header, MessagePack: BundleHeader (below)
 *   48+H    ...   blob section: every blob's encoded bytes (blob-codec.ts), at the offsets the header
 *                 gives, relative to the start of this section
 *
 * Entries are listed inputs-first. Import verifies the header's sha256 and each blob's sha256 before
 * storing anything from it, and stores each entry atomically, so an interrupted import leaves only
 * complete results.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Digest, NodeKey } from '../base/brand.js';
import { irregularKind, irregularPath } from '../base/file-type.js';
import { blobDigest } from './blob-codec.js';
import { inputKeys, reachableFrom } from './reachability.js';
import { packValue, unpackValue } from './record-codec.js';
import type { CacheStore, StoredEntry } from './store.js';

export const BUNDLE_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('SGBUNDLE', 'ascii');
const PREAMBLE_BYTES = 48;

export interface BundleHeader {
  readonly tool: 'sparsegraph';
  readonly createdAt: string;
  /** The keys asked for; `entries` also holds what they were computed from. */
  readonly roots: readonly NodeKey[];
  readonly entries: readonly StoredEntry[];
  readonly blobs: readonly { readonly digest: Digest; readonly offset: number; readonly bytes: number }[];
}

/** A bundle that cannot be written or read as asked (unknown format, damaged, truncated). */
export class BundleError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`bundle ${file}: ${detail}`);
    this.name = 'BundleError';
  }
}

export interface ExportReport {
  /** Keys written, inputs first. */
  readonly exported: readonly NodeKey[];
  /** Keys asked for or reached through provenance that the store does not hold. */
  readonly missing: readonly NodeKey[];
  readonly blobs: number;
  readonly fileBytes: number;
}

export interface ExportOptions {
  /**
   * Also write every stored result the keys were computed from (default true: a colleague's cache can
   * then re-run the pipeline); false writes the keys alone (a task's inputs shipped to a worker).
   */
  readonly closure?: boolean;
}

/** Writes `keys` and (by default) every stored result they were computed from to `outFile` (replaced atomically). */
export async function exportBundle(store: CacheStore, keys: readonly NodeKey[], outFile: string, options: ExportOptions = {}): Promise<ExportReport> {
  const closure = options.closure === false ? new Set(keys) : reachableFrom(keys, (key) => store.record(key)?.provenance.inputs);
  const missing = [...closure].filter((k) => !store.has(k)).sort();
  const entries = options.closure === false ? keys.flatMap((k) => store.entry(k) ?? []) : inputsFirst(store, keys);
  const blobs: { digest: Digest; offset: number; bytes: number }[] = [];
  const seen = new Set<Digest>();
  let offset = 0;
  for (const entry of entries) {
    for (const ref of entry.blobs) {
      if (seen.has(ref.digest)) continue;
      seen.add(ref.digest);
      blobs.push({ digest: ref.digest, offset, bytes: ref.bytes });
      offset += ref.bytes;
    }
  }
  const header: BundleHeader = { tool: 'sparsegraph', createdAt: new Date().toISOString(), roots: [...keys], entries, blobs };
  const headerBytes = packValue(header);
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(BUNDLE_FORMAT_VERSION, 8);
  preamble.writeUInt32LE(headerBytes.length, 12);
  createHash('sha256').update(headerBytes).digest().copy(preamble, 16);

  // The rename below would replace whatever is there: a device or a FIFO must stay what it is.
  const kind = irregularPath(outFile);
  if (kind !== undefined) throw new BundleError(outFile, `is ${kind}, not a regular file; a bundle replaces only a regular file`);
  fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  const staging = `${outFile}.${process.pid}.partial`;
  const handle = await fs.promises.open(staging, 'w');
  try {
    await handle.write(preamble);
    await handle.write(headerBytes);
    for (const { digest, bytes } of blobs) {
      const data = store.blob(digest);
      if (data === undefined || data.length !== bytes) throw new BundleError(outFile, `blob ${digest.slice(0, 12)} vanished from the store while exporting`);
      // Never ship damage: a bad blob here means the cache is corrupted (re-run to recompute it).
      if (blobDigest(data) !== digest) throw new BundleError(outFile, `stored blob ${digest.slice(0, 12)} is corrupted; load its result to have it removed and recomputed`);
      await handle.write(data);
    }
    await handle.sync();
  } catch (error: unknown) {
    await handle.close();
    fs.rmSync(staging, { force: true });
    throw error;
  }
  await handle.close();
  fs.renameSync(staging, outFile);
  return { exported: entries.map((e) => e.record.key), missing, blobs: blobs.length, fileBytes: fs.statSync(outFile).size };
}

export interface ImportReport {
  /** Keys stored by this import, inputs first. */
  readonly imported: readonly NodeKey[];
  /** Keys the store already held (left untouched). */
  readonly present: readonly NodeKey[];
}

export async function importBundle(store: CacheStore, file: string): Promise<ImportReport> {
  const bundle = await openBundle(file);
  try {
    const header = await readHeader(bundle);
    const blobsAt = PREAMBLE_BYTES + header.length;
    const index = new Map(header.value.blobs.map((b) => [b.digest, b]));
    const imported: NodeKey[] = [];
    const present: NodeKey[] = [];
    for (const entry of header.value.entries) {
      const key = entry.record.key;
      if (store.has(key)) {
        present.push(key);
        continue;
      }
      const blobs = new Map<Digest, Uint8Array>();
      for (const ref of entry.blobs) {
        if (store.hasBlob(ref.digest)) continue;
        const at = index.get(ref.digest);
        if (at === undefined) throw new BundleError(file, `entry ${key.slice(0, 12)} references blob ${ref.digest.slice(0, 12)}, which the bundle lacks`);
        const data = await bundle.read(blobsAt + at.offset, at.bytes);
        if (blobDigest(data) !== ref.digest) throw new BundleError(file, `blob ${ref.digest.slice(0, 12)} does not match its sha256 (the file is damaged)`);
        blobs.set(ref.digest, data);
      }
      let outcome;
      try {
        outcome = await store.importEntry(entry, blobs);
      } catch (error: unknown) {
        // The header passed its checks, so what the store refuses is the bundle's content.
        if (error instanceof Error && error.name === 'Error') throw new BundleError(file, error.message);
        throw error;
      }
      (outcome === 'imported' ? imported : present).push(key);
    }
    return { imported, present };
  } finally {
    await bundle.close();
  }
}

/** Reads and checks a bundle's header (for `cache import --dry-run` style listings too). */
export async function readBundleHeader(file: string): Promise<BundleHeader> {
  const bundle = await openBundle(file);
  try {
    return (await readHeader(bundle)).value;
  } finally {
    await bundle.close();
  }
}

/** An open bundle file: every read is checked against the file's size before anything is allocated. */
interface BundleFile {
  readonly file: string;
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Opens a regular file only: a FIFO or a device is refused without waiting on it. */
async function openBundle(file: string): Promise<BundleFile> {
  const stats = await fs.promises.stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new BundleError(file, `cannot open (${error.code ?? error.message})`);
  });
  const refuse = (s: fs.Stats) => {
    const kind = irregularKind(s);
    if (kind !== undefined) throw new BundleError(file, `is ${kind}, not a regular file`);
  };
  refuse(stats);
  // O_NONBLOCK: should a FIFO be swapped in after the check, opening it still does not wait.
  const handle = await fs.promises.open(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0)).catch((error: NodeJS.ErrnoException) => {
    throw new BundleError(file, `cannot open (${error.code ?? error.message})`);
  });
  try {
    const opened = await handle.stat();
    refuse(opened);
    return { file, read: (position, length) => readExactly(handle, position, length, file, opened.size), close: () => handle.close() };
  } catch (error: unknown) {
    await handle.close();
    throw error;
  }
}

async function readHeader(bundle: BundleFile): Promise<{ value: BundleHeader; length: number }> {
  const file = bundle.file;
  const preamble = await bundle.read(0, PREAMBLE_BYTES);
  if (!MAGIC.equals(preamble.subarray(0, 8))) throw new BundleError(file, 'not a sparsegraph bundle');
  const version = preamble.readUInt32LE(8);
  if (version !== BUNDLE_FORMAT_VERSION) throw new BundleError(file, `format version ${version}; this build reads version ${BUNDLE_FORMAT_VERSION}`);
  const length = preamble.readUInt32LE(12);
  const bytes = await bundle.read(PREAMBLE_BYTES, length);
  if (!createHash('sha256').update(bytes).digest().equals(preamble.subarray(16, 48))) throw new BundleError(file, 'header does not match its sha256 (the file is damaged)');
  let value: BundleHeader;
  try {
    value = unpackValue<BundleHeader>(bytes);
  } catch {
    throw new BundleError(file, 'header does not decode');
  }
  if (typeof value !== 'object' || value === null || value.tool !== 'sparsegraph' || !Array.isArray(value.entries) || !Array.isArray(value.blobs)) {
    throw new BundleError(file, 'header is not a bundle header');
  }
  value.entries.forEach((entry, i) => {
    const problem = entryProblem(entry);
    if (problem !== undefined) throw new BundleError(file, `entry ${i} of the header ${problem}`);
  });
  value.blobs.forEach((blob, i) => {
    if (!isObject(blob) || !isDigest(blob.digest) || !isCount(blob.offset) || !isCount(blob.bytes)) throw new BundleError(file, `blob ${i} of the header is malformed`);
  });
  return { value, length };
}

/** What is wrong with the shape of a bundle entry (a bundle is written elsewhere: never trusted). */
function entryProblem(entry: unknown): string | undefined {
  if (!isObject(entry) || !isObject(entry.record) || !isObject(entry.outputs) || !Array.isArray(entry.blobs)) return 'is malformed';
  const { key, provenance, sizeBytes, createdAt } = entry.record;
  if (!isDigest(key)) return 'has a malformed key';
  if (!isObject(provenance) || typeof provenance.nodeId !== 'string' || !isObject(provenance.inputs)) return 'has malformed provenance';
  for (const input of Object.values(provenance.inputs)) {
    if (!(isDigest(input) || (Array.isArray(input) && input.every(isDigest)))) return 'has malformed provenance inputs';
  }
  if (!isCount(sizeBytes) || typeof createdAt !== 'string') return 'has a malformed record';
  if (!entry.blobs.every((b: unknown) => isObject(b) && isDigest(b.digest) && isCount(b.bytes))) return 'lists malformed blobs';
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDigest(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** `length` bytes at `position`; a range past the file's `size` (a lying length) is refused before allocating. */
async function readExactly(handle: fs.promises.FileHandle, position: number, length: number, file: string, size: number): Promise<Buffer> {
  if (position + length > size) throw new BundleError(file, `truncated: it claims ${length} bytes at byte ${position}, the file has ${size}`);
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new BundleError(file, 'truncated');
    done += bytesRead;
  }
  return buffer;
}

/** The stored entries reachable from `keys`, each after the entries it was computed from. */
function inputsFirst(store: CacheStore, keys: readonly NodeKey[]): StoredEntry[] {
  const out: StoredEntry[] = [];
  const state = new Map<NodeKey, 'visiting' | 'done'>();
  const visit = (root: NodeKey): void => {
    // Iterative post-order: provenance chains can be thousands of results long.
    const stack: { key: NodeKey; expanded: boolean }[] = [{ key: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (top.expanded) {
        const entry = store.entry(top.key);
        if (entry !== undefined) out.push(entry);
        state.set(top.key, 'done');
        continue;
      }
      if (state.has(top.key)) continue;
      state.set(top.key, 'visiting');
      stack.push({ key: top.key, expanded: true });
      const inputs = store.record(top.key)?.provenance.inputs;
      for (const input of inputs === undefined ? [] : inputKeys(inputs)) if (!state.has(input)) stack.push({ key: input, expanded: false });
    }
  };
  keys.forEach(visit);
  return out;
}
