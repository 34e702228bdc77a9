/**
 * Checks the structure of an LMDB data file (data.mdb) with plain file reads, before LMDB maps it.
 *
 * Why: LMDB trusts its pages. A flipped bit in a meta page, a page header, a node header or a
 * sub-database record makes the native code read outside the map (SIGSEGV, SIGBUS) or fail an
 * assertion (SIGABRT), which kills the process before any JavaScript can catch anything. So every
 * field LMDB follows is checked here first: both meta pages, then every branch and leaf page reachable
 * from the chosen meta (free list, main database, each named database), each node's bounds, child and
 * overflow page numbers, and the page counts each database records. Values themselves (records, blobs)
 * are not read: their own checksums cover them (record-codec.ts, checksum.ts).
 *
 * The layout is that of the LMDB bundled with lmdb-js 3 (data version 2): a 24-byte page header
 * (page number, txnid, pad, flags, then lower/upper relative to the header end, or an overflow page
 * count), node pointers relative to the header end, 8-byte node headers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { irregularKind, irregularPath } from '../base/file-type.js';
import { FILES } from './layout.js';
import { StoreFileError } from './store.js';

const HEADER = 24;
const MAGIC = 0xbeefc0de;
const DATA_VERSION = 2;
const P_INVALID = 0xffffffffffffffffn;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_OVERFLOW = 0x04;
const P_META = 0x08;
const F_BIGDATA = 0x01;
const F_SUBDATA = 0x02;
const MDB_INTEGERKEY = 0x08;
/** Flags the free list's record may carry besides MDB_INTEGERKEY: the environment's persistent flags. */
const ENV_FLAGS = 0x1001;
/** Offsets inside a meta page. */
const META = { magic: 24, version: 28, address: 32, mapsize: 40, dbs: 48, lastPage: 144, txnid: 152 } as const;
const DB_BYTES = 48;
/** LMDB's cursor stack depth: no tree is deeper. */
const MAX_DEPTH = 32;

/** A database record (MDB_db) as stored in a meta page or a main-database node. */
interface DbRecord {
  readonly flags: number;
  readonly depth: number;
  readonly branchPages: bigint;
  readonly leafPages: bigint;
  readonly overflowPages: bigint;
  readonly entries: bigint;
  readonly root: bigint;
}

/** What is wrong with the file, or undefined when LMDB can walk it safely (or it does not exist yet). */
export function checkDataFile(file: string): string | undefined {
  return withFile(file, (checker) => checker.check()) ?? undefined;
}

/** One key and value found in a leaf page of a named database. */
export interface RawEntry {
  readonly key: Buffer;
  /** False when found in a page whose header is damaged: then only worth anything if it verifies. */
  readonly sound: boolean;
  /** The value's bytes; a large value (a blob) is read from the file only when asked for. */
  value(): Buffer;
}

/**
 * Every key and value the file's named databases hold, read without LMDB (for `cache verify`, which
 * must read files LMDB would crash on). A sound file is read through its trees; a damaged one page by
 * page, taking every leaf entry that lies within bounds, so that damage to one page loses only what
 * that page holds (a page scan can also find values that were deleted but not yet overwritten).
 */
export function readDataFile(file: string): { readonly problem: string | undefined; readonly entries: RawEntry[] } {
  return withFile(file, (checker) => {
    const problem = checker.check();
    if (problem === undefined) return { problem, entries: checker.entries(true) };
    const { bytes, note } = checker.scanBound();
    return { problem: note === undefined ? problem : `${problem}; ${note}`, entries: checker.entries(false, bytes) };
  }) ?? { problem: undefined, entries: [] };
}

/**
 * Refuses a store directory whose data.mdb or lock.mdb exists but is not a regular file, before
 * anything opens it: LMDB (and the check below) would wait forever on a FIFO, and read a device or fail
 * on a directory with nothing to say which cache it is.
 */
export function refuseIrregularFiles(dir: string): void {
  for (const name of [FILES.data, FILES.lock]) {
    const kind = irregularPath(path.join(dir, name));
    if (kind !== undefined) throw new StoreFileError(dir, `its ${name} is ${kind}, not a regular file`);
  }
}

function withFile<T>(file: string, fn: (checker: FileChecker) => T): T | undefined {
  refuseIrregularFiles(path.dirname(file));
  let fd: number;
  try {
    // O_NONBLOCK: should a FIFO be swapped in after the check, opening it still does not wait.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stats = fs.fstatSync(fd);
    const kind = irregularKind(stats);
    if (kind !== undefined) throw new StoreFileError(path.dirname(file), `its ${path.basename(file)} is ${kind}, not a regular file`);
    return fn(new FileChecker(fd, stats.size, stats.blocks * 512, file));
  } finally {
    fs.closeSync(fd);
  }
}

/** Thrown inside the checker to stop at the first problem. */
class Damage extends Error {}

class FileChecker {
  #pageSize = 4096;
  #lastPage = 0n;
  readonly #seen = new Set<bigint>();
  /** Leaf pages of the named databases, as the walk found them. */
  readonly #dataLeaves: bigint[] = [];

  constructor(
    readonly fd: number,
    readonly size: number,
    /** The bytes the file system stores for it (less than `size` for a sparse file). */
    readonly stored: number,
    readonly file: string,
  ) {}

  check(): string | undefined {
    // A file LMDB has just created is empty until its first commit.
    if (this.size === 0) return undefined;
    try {
      const pageSize = this.#readAt(META.dbs, 4).readUInt32LE(0);
      if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new Damage(`meta page 0 records a page size of ${pageSize}`);
      this.#pageSize = pageSize;
      if (this.size < 2 * pageSize) throw new Damage(`the file has ${this.size} bytes, less than its two meta pages`);
      const metas = [this.#meta(0), this.#meta(1)] as const;
      // LMDB uses the meta page with the larger transaction id (meta 0 on a tie).
      const chosen = metas[1].txnid > metas[0].txnid ? metas[1] : metas[0];
      this.#lastPage = chosen.lastPage;
      this.#tree('the free list', chosen.free, { integerKeys: true, main: false });
      this.#tree('the main database', chosen.main, { integerKeys: false, main: true });
      return undefined;
    } catch (error: unknown) {
      if (error instanceof Damage) return error.message;
      throw error;
    }
  }

  /**
   * How much of a damaged file a page scan reads: no page past the map size a meta page records (LMDB
   * never writes there), and, when no meta page can be read, no more than the file system stores (a
   * sparse file of a terabyte holds nothing in its holes, and reading them would take hours).
   */
  scanBound(): { readonly bytes: number; readonly note?: string } {
    const count = (n: number) => n.toLocaleString('en');
    const mapSize = this.#readableMapSize();
    if (mapSize !== undefined) {
      if (this.size <= mapSize) return { bytes: this.size };
      return { bytes: mapSize, note: `the file is larger than its map size (${count(this.size)} bytes, the map ${count(mapSize)}): only the map was scanned` };
    }
    if (this.stored >= this.size) return { bytes: this.size };
    return { bytes: this.stored, note: `no meta page is readable and the file is sparse (${count(this.size)} bytes, ${count(this.stored)} stored): only the first ${count(this.stored)} bytes were scanned` };
  }

  /** The largest map size that a meta page with LMDB's magic number records, if any. */
  #readableMapSize(): number | undefined {
    let found: number | undefined;
    for (const at of [0, this.#pageSize]) {
      if (at + META.dbs > this.size) continue;
      const page = this.#readAt(at, META.dbs);
      const mapsize = page.readBigUInt64LE(META.mapsize);
      if (page.readUInt32LE(META.magic) !== MAGIC || mapsize === 0n || mapsize > 1n << 44n) continue;
      found = Math.max(found ?? 0, Number(mapsize));
    }
    return found;
  }

  /** The entries of the walked leaves (`walked`), or of every leaf-like page of the first `bytes` of the file. */
  entries(walked: boolean, bytes = this.size): RawEntry[] {
    // Page numbers are generated as they are read: a list of every page of a large file would not fit in memory.
    const scanned = function* (pageSize: number): Generator<bigint> {
      for (let p = 2; (p + 1) * pageSize <= bytes; p++) yield BigInt(p);
    };
    const pages = walked ? this.#dataLeaves : scanned(this.#pageSize);
    const out: RawEntry[] = [];
    for (const pgno of pages) {
      const page = this.#readAt(Number(pgno) * this.#pageSize, this.#pageSize);
      const flags = page.readUInt16LE(18);
      const sound = page.readBigUInt64LE(0) === pgno && flags === P_LEAF;
      // A page scan also reads pages whose header is damaged, as leaves: what it finds there is kept only
      // if it verifies (sound: false). Branch, overflow and meta pages are skipped.
      if (!sound && (walked || flags === P_BRANCH || flags === P_OVERFLOW || flags === P_META)) continue;
      // The node pointers end where the first node begins; a damaged `lower` is not believed.
      const pointers = sound ? page.readUInt16LE(20) / 2 : (this.#pageSize - HEADER) / 2;
      let firstNode = this.#pageSize;
      for (let i = 0; i < pointers && HEADER + 2 * i + 2 <= firstNode; i++) {
        const at = HEADER + page.readUInt16LE(HEADER + 2 * i);
        if (at + 8 > this.#pageSize || at < HEADER + 2 * (i + 1)) continue;
        firstNode = Math.min(firstNode, at);
        const dataBytes = page.readUInt16LE(at) | (page.readUInt16LE(at + 2) << 16);
        const nodeFlags = page.readUInt16LE(at + 4);
        const dataAt = at + 8 + page.readUInt16LE(at + 6);
        const key = Buffer.from(page.subarray(at + 8, Math.min(dataAt, this.#pageSize)));
        if (nodeFlags === 0 && dataAt + dataBytes <= this.#pageSize) {
          const value = Buffer.from(page.subarray(dataAt, dataAt + dataBytes));
          out.push({ key, sound, value: () => value });
        } else if (nodeFlags === F_BIGDATA && dataAt + 8 <= this.#pageSize) {
          const first = page.readBigUInt64LE(dataAt);
          const start = Number(first) * this.#pageSize;
          if (first < 2n || start + HEADER + dataBytes > this.size) continue;
          const overflow = this.#readAt(start, HEADER);
          if (overflow.readBigUInt64LE(0) !== first || overflow.readUInt16LE(18) !== P_OVERFLOW) continue;
          out.push({ key, sound, value: () => readRange(this.file, start + HEADER, dataBytes) });
        }
      }
    }
    return out;
  }

  #readAt(position: number, length: number): Buffer {
    const buffer = Buffer.alloc(length);
    const read = fs.readSync(this.fd, buffer, 0, length, position);
    if (read !== length) throw new Damage(`the file ends inside the page at byte ${position}`);
    return buffer;
  }

  #meta(index: 0 | 1): { txnid: bigint; lastPage: bigint; free: DbRecord; main: DbRecord } {
    const page = this.#readAt(index * this.#pageSize, this.#pageSize);
    const where = `meta page ${index}`;
    if (page.readBigUInt64LE(0) !== BigInt(index) || page.readUInt16LE(18) !== P_META) throw new Damage(`${where} has a damaged header`);
    if (page.readUInt32LE(META.magic) !== MAGIC) throw new Damage(`${where} lacks LMDB's magic number`);
    if (page.readUInt32LE(META.version) !== DATA_VERSION) throw new Damage(`${where} records data version ${page.readUInt32LE(META.version)}`);
    if (page.readBigUInt64LE(META.address) !== 0n) throw new Damage(`${where} records a fixed map address`);
    const mapsize = page.readBigUInt64LE(META.mapsize);
    if (mapsize % BigInt(this.#pageSize) !== 0n || mapsize > 1n << 44n) throw new Damage(`${where} records a map size of ${mapsize}`);
    const lastPage = page.readBigUInt64LE(META.lastPage);
    // Not the file's end: a commit may allocate pages at the end and free them again before writing
    // them (LMDB's loose pages), so a sound file can be shorter than its last page. What LMDB reads is
    // checked page by page in the walk; past the map, LMDB would refuse to allocate.
    if (lastPage < 1n || (lastPage + 1n) * BigInt(this.#pageSize) > mapsize) throw new Damage(`${where} records page ${lastPage} as the last, beyond its map size`);
    if (page.readUInt32LE(META.dbs) !== this.#pageSize) throw new Damage(`${where} records another page size than meta page 0`);
    const free = dbRecord(page, META.dbs);
    const main = dbRecord(page, META.dbs + DB_BYTES);
    if ((free.flags & ~ENV_FLAGS) !== MDB_INTEGERKEY || main.flags !== 0) throw new Damage(`${where} records unexpected database flags`);
    for (const db of [free, main]) this.#checkRecord(db, lastPage, where);
    return { txnid: page.readBigUInt64LE(META.txnid), lastPage, free, main };
  }

  #checkRecord(db: DbRecord, lastPage: bigint, where: string): void {
    if (db.root === P_INVALID) {
      if (db.depth !== 0 || db.entries !== 0n || db.branchPages + db.leafPages + db.overflowPages !== 0n) throw new Damage(`${where} describes an empty database with pages`);
      return;
    }
    if (db.root < 2n || db.root > lastPage) throw new Damage(`${where} names root page ${db.root}, outside the file`);
    if (db.depth < 1 || db.depth > MAX_DEPTH) throw new Damage(`${where} records a tree depth of ${db.depth}`);
  }

  /** Walks one B-tree; checks every page against the counts its record keeps. */
  #tree(name: string, db: DbRecord, options: { readonly integerKeys: boolean; readonly main: boolean }): void {
    if (db.root === P_INVALID) return;
    const counted = { branch: 0n, leaf: 0n, overflow: 0n, entries: 0n };
    const subDbs: { name: string; db: DbRecord }[] = [];
    const pending: { page: bigint; level: number }[] = [{ page: db.root, level: 1 }];
    while (pending.length > 0) {
      const { page: pgno, level } = pending.pop()!;
      if (this.#seen.has(pgno)) throw new Damage(`page ${pgno} is reached twice (in ${name})`);
      this.#seen.add(pgno);
      const page = this.#readAt(Number(pgno) * this.#pageSize, this.#pageSize);
      const where = `page ${pgno} (in ${name})`;
      const leaf = level === db.depth;
      const flags = page.readUInt16LE(18);
      if (page.readBigUInt64LE(0) !== pgno || flags !== (leaf ? P_LEAF : P_BRANCH)) throw new Damage(`${where} has a damaged header`);
      const lower = page.readUInt16LE(20);
      const upper = page.readUInt16LE(22);
      const keys = lower / 2;
      if (lower % 2 !== 0 || lower > upper || HEADER + upper > this.#pageSize || keys < (leaf ? 1 : 2)) throw new Damage(`${where} has a damaged header`);
      leaf ? counted.leaf++ : counted.branch++;
      if (leaf && !options.main && !options.integerKeys) this.#dataLeaves.push(pgno);
      for (let i = 0; i < keys; i++) {
        const at = HEADER + page.readUInt16LE(HEADER + 2 * i);
        if (at < HEADER + upper || at + 8 > this.#pageSize) throw new Damage(`${where}: node ${i} lies outside the page`);
        const lo = page.readUInt16LE(at);
        const hi = page.readUInt16LE(at + 2);
        const nodeFlags = page.readUInt16LE(at + 4);
        const keyBytes = page.readUInt16LE(at + 6);
        const dataAt = at + 8 + keyBytes;
        if (dataAt > this.#pageSize) throw new Damage(`${where}: the key of node ${i} runs past the page`);
        if (options.integerKeys && leaf && keyBytes !== 8) throw new Damage(`${where}: node ${i} has a ${keyBytes}-byte key`);
        if (!leaf) {
          const child = BigInt(lo) | (BigInt(hi) << 16n) | (BigInt(nodeFlags) << 32n);
          if (child < 2n || child > this.#lastPage) throw new Damage(`${where}: node ${i} points to page ${child}, outside the file`);
          pending.push({ page: child, level: level + 1 });
          continue;
        }
        counted.entries++;
        const dataBytes = lo | (hi << 16);
        if (nodeFlags === F_BIGDATA) {
          if (dataAt + 8 > this.#pageSize) throw new Damage(`${where}: node ${i} runs past the page`);
          const first = page.readBigUInt64LE(dataAt);
          const pages = BigInt(Math.ceil((dataBytes + HEADER) / this.#pageSize));
          if (first < 2n || first + pages - 1n > this.#lastPage) throw new Damage(`${where}: node ${i} points to overflow page ${first}, outside the file`);
          // LMDB maps the value's pages without reading them first: past the file's end they would SIGBUS.
          if ((first + pages) * BigInt(this.#pageSize) > BigInt(this.size)) throw new Damage(`${where}: node ${i}'s value runs past the file's end`);
          counted.overflow += pages;
          continue;
        }
        if (nodeFlags !== 0 && !(options.main && nodeFlags === F_SUBDATA)) throw new Damage(`${where}: node ${i} has unexpected flags ${nodeFlags}`);
        if (dataAt + dataBytes > this.#pageSize) throw new Damage(`${where}: the value of node ${i} runs past the page`);
        if (nodeFlags === F_SUBDATA) {
          if (dataBytes !== DB_BYTES) throw new Damage(`${where}: node ${i} holds a damaged database record`);
          const sub = dbRecord(page, dataAt);
          const label = `database ${JSON.stringify(page.subarray(at + 8, dataAt).toString('utf8').replace(/\0$/, ''))}`;
          if (sub.flags !== 0) throw new Damage(`${where}: ${label} records unexpected flags ${sub.flags}`);
          this.#checkRecord(sub, this.#lastPage, `${where}: ${label}`);
          subDbs.push({ name: label, db: sub });
        }
      }
    }
    if (counted.branch !== db.branchPages || counted.leaf !== db.leafPages || counted.overflow !== db.overflowPages || counted.entries !== db.entries) {
      throw new Damage(`${name}: its page and entry counts do not match its pages`);
    }
    for (const sub of subDbs) this.#tree(sub.name, sub.db, { integerKeys: false, main: false });
  }
}

function readRange(file: string, position: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    if (fs.readSync(fd, buffer, 0, length, position) !== length) throw new Error(`${file} ended while reading it`);
    return buffer;
  } finally {
    fs.closeSync(fd);
  }
}

function dbRecord(page: Buffer, at: number): DbRecord {
  return {
    flags: page.readUInt16LE(at + 4),
    depth: page.readUInt16LE(at + 6),
    branchPages: page.readBigUInt64LE(at + 8),
    leafPages: page.readBigUInt64LE(at + 16),
    overflowPages: page.readBigUInt64LE(at + 24),
    entries: page.readBigUInt64LE(at + 32),
    root: page.readBigUInt64LE(at + 40),
  };
}
