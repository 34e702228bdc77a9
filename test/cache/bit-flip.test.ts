/**
 * Damaged caches: random bit flips over a compacted cache file (every page live), targeted damage to
 * records, keys and LMDB's own pages, and the way out (`cache verify --repair`).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { open } from 'lmdb';
import { openStore } from '../../cache/lmdb-store.js';
import { packValue, unpackRecord } from '../../cache/record-codec.js';
import { repairStore } from '../../cache/verify.js';
import { MemoryStore } from '../../cache/memory-store.js';
import { META_KEYS, TABLE_NAMES, TABLES } from '../../cache/layout.js';
import { CorruptEntryError } from '../../cache/store.js';
import { collectGarbage } from '../../cache/gc.js';
import { cli } from '../exec/helpers.js';
import { bitPositions, buildCleanCache, copyWithFlip, readValues, tally, tryFlip, type CleanCache, type FlipCase } from './fixtures/bit-flips.js';
import { keyOf, provenance } from './fixtures/data.js';
import { corruptBlobOnDisk } from './fixtures/lmdb-harness.js';

/** Stack frames or the CLI's word for a bug: never acceptable output. */
const INTERNAL = /internal error|\n\s+at .+:\d+:\d+/;

describe('a cache file with flipped bits', () => {
  let clean: CleanCache;
  let cases: FlipCase[];
  before(async () => {
    clean = await buildCleanCache();
  });
  after(() => fs.rmSync(clean.dir, { recursive: true, force: true }));

  it('ends every one of 200 random flips in the clean results or a refusal naming the cache that a repair resolves', async () => {
    cases = [];
    for (const bit of bitPositions(clean.file.length, 200, 1)) cases.push(await tryFlip(clean, bit));
    const counts = tally(cases);
    assert.deepEqual(cases.filter((c) => c.outcome === 'failure'), []);
    // The flips reached every kind of outcome: the test exercises detection, not only luck.
    assert.ok(counts.clean > 0 && counts.recomputed > 0 && counts.refused > 0, JSON.stringify(counts));
  });

  // A hang fails the test by its timeout.
  it('gives the same outcomes through the CLI: exit 0 with the clean results, or exit 1 naming the cache and the repair', { timeout: 120_000 }, async () => {
    const picked = [
      ...cases.filter((c) => c.outcome === 'refused').slice(0, 1),
      ...cases.filter((c) => c.outcome === 'recomputed').slice(0, 1),
    ];
    for (const { bit, outcome } of picked) {
      const dir = copyWithFlip(clean, bit);
      const run = await cli(['run', clean.pipeline, '--cache', dir, '--jobs', '0', '--json']);
      assert.equal(run.signal, null, `bit ${bit}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, INTERNAL, `bit ${bit}`);
      const document = JSON.parse(run.stdout) as { ok?: boolean; error?: string };
      if (outcome === 'refused') {
        assert.equal(run.code, 1, `bit ${bit}: ${run.stderr}`);
        assert.equal(document.ok, false);
        assert.match(document.error!, new RegExp(`^the cache file ${dir}/data\\.mdb is damaged \\(.+\\); run \`sparsegraph cache verify --repair --cache ${dir}\``));
        const verify = await cli(['cache', 'verify', '--cache', dir]);
        assert.equal(verify.code, 1, verify.stdout + verify.stderr);
        assert.match(verify.stdout, /the file's structure is damaged|record is damaged/);
        const repair = await cli(['cache', 'verify', '--repair', '--cache', dir]);
        assert.equal(repair.code, 0, repair.stdout + repair.stderr);
        assert.match(repair.stdout, new RegExp(`the old file is kept as ${dir}/data\\.mdb\\.damaged-`));
        const again = await cli(['run', clean.pipeline, '--cache', dir, '--jobs', '0', '--json']);
        assert.equal(again.code, 0, again.stderr);
      } else {
        assert.equal(run.code, 0, `bit ${bit}: ${run.stderr}`);
      }
      // A damaged blob of a result nothing consumed is found when read (as here), removed, and recomputed.
      let values = await valuesIn(clean, dir);
      if (values instanceof CorruptEntryError) {
        assert.equal((await cli(['run', clean.pipeline, '--cache', dir, '--jobs', '0'])).code, 0);
        values = await valuesIn(clean, dir);
      }
      assert.deepEqual(values, clean.values, `bit ${bit}`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('detects a flipped metric in a result record, says so, and recomputes it', async () => {
    const { dir, key } = withFlippedMetric(clean, 'b', 2.625);
    const run = await cli(['run', clean.pipeline, '--cache', dir, '--jobs', '0']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`warning: the cache ${dir} held 1 damaged value\\(s\\); they were removed:\\n  results ${key}: checksum mismatch\\n`));
    assert.match(run.stderr, /1 executed, 4 cached, 0 failed, 0 skipped/);
    const store = await openStore(dir);
    assert.deepEqual(await readValues(clean.graph, store), clean.values);
    await store.close();
  });

  it('reports a damaged blob when a command reads it, as an expected failure, and the next run recomputes it', async () => {
    const dir = fs.mkdtempSync(path.join(clean.dir, 'blob-'));
    fs.writeFileSync(path.join(dir, 'data.mdb'), clean.file);
    const mask = clean.graph.byId.get('ck')!.key;
    const opened = await openStore(dir);
    const digest = opened.entry(mask)!.blobs[0]!.digest;
    await (await corruptBlobOnDisk(opened, digest)).close();
    const exported = await cli(['export', 'ck', '--pipeline', clean.pipeline, '--out', path.join(dir, 'ck.safetensors'), '--cache', dir]);
    assert.equal(exported.code, 1);
    assert.equal(exported.stderr, `sparsegraph: error: cached result ${mask.slice(0, 12)} is corrupted (blob ${digest.slice(0, 12)}: content matches neither its xxh64 checksum nor its sha256); it was removed\n`);
    const run = await cli(['run', clean.pipeline, '--cache', dir, '--jobs', '0']);
    assert.match(run.stderr, /1 executed, 4 cached, 0 failed, 0 skipped/);
    const store = await openStore(dir);
    assert.deepEqual(await readValues(clean.graph, store), clean.values);
    await store.close();
  });

  it('never serves a record under a key it was not written for', async () => {
    const file = Buffer.from(clean.file);
    // LMDB's copy of the key comes right before the value (the frame): flip a hex digit of it.
    const at = recordFrame(file, clean.graph.byId.get('b')!.key) - 64;
    file[at + 5] = file[at + 5] === 0x30 ? 0x31 : 0x30;
    const dir = fs.mkdtempSync(path.join(clean.dir, 'key-'));
    fs.writeFileSync(path.join(dir, 'data.mdb'), file);
    const store = await openStore(dir);
    const moved = store.keys().find((k) => !clean.graph.instances.some((i) => i.key === k))!;
    assert.ok(moved, 'a key was changed');
    assert.equal(store.record(moved), undefined);
    assert.equal(store.has(moved), false);
    assert.match(JSON.stringify(store.damage()), /stored under the wrong key/);
    await store.close();
  });

  it('refuses a damaged meta page with a way out, which keeps every result', async () => {
    const file = Buffer.from(clean.file);
    // Meta page 1's magic number.
    file[4096 + 24]! ^= 0x01;
    const dir = fs.mkdtempSync(path.join(clean.dir, 'meta-'));
    fs.writeFileSync(path.join(dir, 'data.mdb'), file);
    const commands = [['run', clean.pipeline, '--jobs', '0'], ['show', clean.graph.instances[0]!.key], ['gc', '--older-than', '1d'], ['cache', 'export', clean.pipeline, '--out', path.join(dir, 'x.sgb')]];
    // Each is refused when it opens the cache, before it changes anything: they may run at once.
    const ran = await Promise.all(commands.map((command) => cli([...command, '--cache', dir])));
    for (const [i, command] of commands.entries()) {
      assert.equal(ran[i]!.code, 1, `${command[0]}: ${ran[i]!.stderr}`);
      assert.equal(
        ran[i]!.stderr,
        `sparsegraph: error: the cache file ${dir}/data.mdb is damaged (meta page 1 lacks LMDB's magic number); run \`sparsegraph cache verify --repair --cache ${dir}\` to keep every result that can still be read\n`,
      );
    }
    const verify = await cli(['cache', 'verify', '--cache', dir, '--json']);
    assert.equal(verify.code, 1);
    const report = JSON.parse(verify.stdout) as { ok: boolean; structure: string; results: number; soundResults: number };
    assert.deepEqual([report.ok, report.structure, report.results, report.soundResults], [false, "meta page 1 lacks LMDB's magic number", 5, 5]);
    const repair = await cli(['cache', 'verify', '--repair', '--cache', dir]);
    assert.equal(repair.code, 0, repair.stderr);
    assert.match(repair.stdout, /repaired: kept 5 of 5 result\(s\) with their blobs, 0 pin\(s\), 5 last run\(s\)\n/);
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('data.mdb.damaged-')).length, 1);
    const run = await cli(['run', clean.pipeline, '--cache', dir, '--jobs', '0']);
    assert.match(run.stderr, /0 executed, 5 cached, 0 failed, 0 skipped/);
  });

  it('converts a version 1 cache (values without frames) with verify --repair', async () => {
    const dir = fs.mkdtempSync(path.join(clean.dir, 'v1-'));
    fs.writeFileSync(path.join(dir, 'data.mdb'), clean.file);
    // What a version 1 build wrote: the same values as bare MessagePack, blobs unchanged.
    const env = open({ path: dir, maxDbs: TABLE_NAMES.length + 2 });
    for (const name of TABLE_NAMES) {
      if (name === TABLES.blobs) continue;
      const db = env.openDB<Buffer, string>({ name, encoding: 'binary' });
      for (const key of [...db.getKeys()]) {
        const read = unpackRecord<Record<string, unknown>>(key, db.getBinary(key)!);
        assert.ok(read.ok);
        const value = key === META_KEYS.format ? { ...read.value, version: 1 } : read.value;
        await db.put(key, Buffer.from(packValue(value)));
      }
    }
    await env.close();
    await assert.rejects(openStore(dir), {
      name: 'StoreFormatError',
      message: `the cache at ${dir} has format version 1; this build reads version 2. Run \`sparsegraph cache verify --repair --cache ${dir}\` to convert it (the old file is kept beside it).`,
    });
    const repaired = await repairStore(dir);
    assert.deepEqual([repaired.results, repaired.salvaged, repaired.lastRuns], [5, 5, 5]);
    const store = await openStore(dir);
    assert.deepEqual(await readValues(clean.graph, store), clean.values);
    await store.close();
    const run = await cli(['run', clean.pipeline, '--cache', dir, '--jobs', '0']);
    assert.match(run.stderr, /0 executed, 5 cached, 0 failed, 0 skipped/);
  });
});

describe('a record that no longer decodes', () => {
  it('is absent to every reader, reported, removed, and gc and bundles carry on', async () => {
    const store = new MemoryStore();
    const key = keyOf('garbled');
    const other = keyOf('sound');
    await store.put(key, { metrics: { values: { loss: 0.5 } } }, provenance('n'));
    await store.put(other, { metrics: { values: { loss: 0.25 } } }, provenance('m'));
    store.tamperForTesting(TABLES.results, key, () => Uint8Array.of(0xc1));
    assert.equal(store.record(key), undefined);
    assert.equal(store.entry(key), undefined);
    assert.equal(store.has(key), false);
    await assert.rejects(store.load(key), /^CorruptEntryError: cached result [0-9a-f]{12} is corrupted \(record: not a framed record\); it was removed$/);
    assert.deepEqual(store.damage(), [{ table: 'results', key, detail: 'not a framed record' }]);
    const report = await collectGarbage(store, { roots: [other] });
    assert.deepEqual(report.removedResults, []);
    assert.deepEqual(store.keys(), [other], 'the damaged record was removed');
    await store.close();
  });
});

/** The outputs the cache in `dir` holds, or the CorruptEntryError that reading them found. */
async function valuesIn(clean: CleanCache, dir: string): Promise<Map<string, string> | CorruptEntryError> {
  const store = await openStore(dir);
  try {
    return await readValues(clean.graph, store);
  } catch (error: unknown) {
    if (error instanceof CorruptEntryError) return error;
    throw error;
  } finally {
    await store.close();
  }
}

/** Where the result record of `key` (its frame) starts in `file`. */
function recordFrame(file: Buffer, key: string): number {
  const named = Buffer.from(key);
  for (let at = file.indexOf(named); at >= 0; at = file.indexOf(named, at + 1)) {
    // A frame: "SGR" v1, the checksum, the key's length, then the key.
    if (file.subarray(at - 16, at - 12).equals(Buffer.from('SGR\x01', 'latin1')) && file.subarray(at - 80, at - 16).equals(named)) return at - 16;
  }
  throw new Error(`no record frame for ${key}`);
}

/** Copies the clean file with one bit flipped inside the metric `value` of instance `id`'s record. */
function withFlippedMetric(clean: CleanCache, id: string, value: number): { dir: string; key: string } {
  const key = clean.graph.byId.get(id)!.key;
  const file = Buffer.from(clean.file);
  const frame = recordFrame(file, key);
  const record = file.subarray(frame, frame + 1000);
  // MessagePack writes the number as a float64 (0xcb) or, when exact, a float32 (0xca), big-endian.
  const as64 = Buffer.alloc(9, 0xcb);
  as64.writeDoubleBE(value, 1);
  const as32 = Buffer.alloc(5, 0xca);
  as32.writeFloatBE(value, 1);
  const at = Math.max(record.indexOf(as64), record.indexOf(as32));
  assert.ok(at > 0, 'the metric is in the record');
  record[at + 3]! ^= 0x04;
  const dir = fs.mkdtempSync(path.join(clean.dir, 'record-'));
  fs.writeFileSync(path.join(dir, 'data.mdb'), file);
  return { dir, key };
}
