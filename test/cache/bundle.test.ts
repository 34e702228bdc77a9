import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { NodeKey } from '../../base/brand.js';
import { createHash } from 'node:crypto';
import { BundleError, exportBundle, importBundle, readBundleHeader } from '../../cache/bundle.js';
import { packValue } from '../../cache/record-codec.js';
import { openStore } from '../../cache/lmdb-store.js';
import { MemoryStore } from '../../cache/memory-store.js';
import type { CacheStore } from '../../cache/store.js';
import { floatTensor, keyOf, maskTensor, provenance } from './fixtures/data.js';
import { tempDir } from './fixtures/lmdb-harness.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function freshDir(): string {
  const dir = tempDir('sg-bundle-');
  dirs.push(dir);
  return dir;
}

const k = (n: string): NodeKey => keyOf(`bundle-${n}`);

/** init -> train -> prune, plus a second train sharing the init, and an unrelated result. */
async function pipeline(store: CacheStore): Promise<void> {
  const init = floatTensor([64, 32], 0, 1);
  await store.put(k('init'), { checkpoint: { tensors: { w: init }, step: 0 } }, provenance('init'));
  await store.put(k('train'), { checkpoint: { tensors: { w: floatTensor([64, 32], 0, 2) }, step: 100 }, metrics: { values: { loss: NaN } } }, provenance('train', { init: k('init') }));
  await store.put(k('prune'), { mask: maskTensor([64, 32], 0.1, 3), sparse: floatTensor([64, 32], 0.9, 4), same: init }, provenance('prune', { model: k('train'), extra: [k('init')] }));
  await store.put(k('unrelated'), { w: floatTensor([10], 0, 5) }, provenance('unrelated'));
}

describe('bundles', () => {
  it('carry results and everything they came from into a fresh store with identical loads', async () => {
    const source = await openStore(freshDir());
    await pipeline(source);
    const file = path.join(freshDir(), 'results.sgbundle');
    const exported = await exportBundle(source, [k('prune')], file);
    assert.deepEqual(exported.exported, [k('init'), k('train'), k('prune')], 'inputs first');
    assert.deepEqual(exported.missing, []);
    assert.equal(exported.blobs, 4, 'the init tensor is shared by init and prune');
    assert.equal(exported.fileBytes, fs.statSync(file).size);

    const header = await readBundleHeader(file);
    assert.deepEqual(header.roots, [k('prune')]);
    assert.equal(header.entries.length, 3);

    for (const target of [await openStore(freshDir()), new MemoryStore()]) {
      const report = await importBundle(target, file);
      assert.deepEqual(report, { imported: [k('init'), k('train'), k('prune')], present: [] });
      assert.equal(target.has(k('unrelated')), false);
      for (const key of report.imported) {
        assert.deepStrictEqual(await target.load(key), await source.load(key));
        assert.deepStrictEqual(target.record(key), source.record(key));
      }
      assert.equal(target.stats().blobs, 4);
      const again = await importBundle(target, file);
      assert.deepEqual(again, { imported: [], present: [k('init'), k('train'), k('prune')] });
      await target.close();
    }
    await source.close();
  });

  it('report keys the store does not hold', async () => {
    const source = new MemoryStore();
    await source.put(k('child'), { v: 1 }, provenance('child', { parent: k('gone') }));
    const file = path.join(freshDir(), 'partial.sgbundle');
    const exported = await exportBundle(source, [k('child'), k('never')], file);
    assert.deepEqual(exported.exported, [k('child')]);
    assert.deepEqual(exported.missing, [k('gone'), k('never')].sort());
  });

  it('are refused when damaged, truncated or foreign, with clear messages', async () => {
    const source = new MemoryStore();
    await pipeline(source);
    const file = path.join(freshDir(), 'damaged.sgbundle');
    await exportBundle(source, [k('train')], file);
    const bytes = fs.readFileSync(file);

    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 10]! ^= 0xff;
    fs.writeFileSync(file, flipped);
    const target = new MemoryStore();
    await assert.rejects(importBundle(target, file), /does not match its sha256 \(the file is damaged\)/);
    assert.deepEqual(target.keys(), [k('init')], 'complete entries before the damage stay imported, nothing else');

    const badHeader = Buffer.from(bytes);
    badHeader[60]! ^= 0xff;
    fs.writeFileSync(file, badHeader);
    await assert.rejects(importBundle(new MemoryStore(), file), /header does not match its sha256/);

    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(importBundle(new MemoryStore(), file), /truncated/);

    const future = Buffer.from(bytes);
    future.writeUInt32LE(2, 8);
    fs.writeFileSync(file, future);
    await assert.rejects(importBundle(new MemoryStore(), file), /format version 2; this build reads version 1/);

    fs.writeFileSync(file, 'name,value\n');
    await assert.rejects(importBundle(new MemoryStore(), file), BundleError);
    await assert.rejects(importBundle(new MemoryStore(), path.join(freshDir(), 'absent')), /cannot open \(ENOENT\)/);
  });

  // The bound turns a hang (opening the FIFO to read it waits for a writer) into a failure.
  it('read only regular files, check every claimed length against the file, and never rename over a FIFO or a directory', { timeout: 20_000 }, async () => {
    const dir = freshDir();
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(importBundle(new MemoryStore(), fifo), { name: 'BundleError', message: `bundle ${fifo}: is a named pipe (FIFO), not a regular file` });
    await assert.rejects(readBundleHeader(dir), { name: 'BundleError', message: `bundle ${dir}: is a directory, not a regular file` });

    // A header length of 4 GiB in an 80-byte file: refused before anything of that size is allocated.
    const lying = path.join(dir, 'lying.sgb');
    fs.writeFileSync(lying, Buffer.concat([Buffer.from('SGBUNDLE'), Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(64, 7)]));
    await assert.rejects(importBundle(new MemoryStore(), lying), { message: `bundle ${lying}: truncated: it claims 4294967295 bytes at byte 48, the file has 80` });

    // A sound header whose blob entry claims more bytes than the blob section holds.
    const source = new MemoryStore();
    await pipeline(source);
    const good = path.join(dir, 'good.sgb');
    await exportBundle(source, [k('init')], good);
    const header = await readBundleHeader(good);
    const forged = { ...header, blobs: header.blobs.map((b) => ({ ...b, bytes: 2 ** 40 })) };
    const bytes = packValue(forged);
    const preamble = Buffer.alloc(48);
    Buffer.from('SGBUNDLE').copy(preamble, 0);
    preamble.writeUInt32LE(1, 8);
    preamble.writeUInt32LE(bytes.length, 12);
    createHash('sha256').update(bytes).digest().copy(preamble, 16);
    const long = path.join(dir, 'long.sgb');
    fs.writeFileSync(long, Buffer.concat([preamble, bytes]));
    await assert.rejects(importBundle(new MemoryStore(), long), new RegExp(`^BundleError: bundle ${long}: truncated: it claims 1099511627776 bytes at byte ${48 + bytes.length}, the file has ${48 + bytes.length}$`));

    const folder = path.join(dir, 'folder');
    fs.mkdirSync(folder);
    for (const [out, kind] of [[fifo, 'a named pipe (FIFO)'], [folder, 'a directory']] as const) {
      await assert.rejects(exportBundle(source, [k('init')], out), { message: `bundle ${out}: is ${kind}, not a regular file; a bundle replaces only a regular file` });
    }
    assert.ok(fs.statSync(fifo).isFIFO());
    assert.deepEqual(fs.readdirSync(folder), []);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['fifo', 'folder', 'good.sgb', 'long.sgb', 'lying.sgb']);
  });

  it('refuse a header that passes its sha256 but holds malformed entries, naming the entry', async () => {
    const file = path.join(freshDir(), 'forged.sgbundle');
    const forge = (header: unknown): void => {
      const bytes = packValue(header);
      const preamble = Buffer.alloc(48);
      preamble.write('SGBUNDLE', 0, 'ascii');
      preamble.writeUInt32LE(1, 8);
      preamble.writeUInt32LE(bytes.length, 12);
      createHash('sha256').update(bytes).digest().copy(preamble, 16);
      fs.writeFileSync(file, Buffer.concat([preamble, bytes]));
    };
    const header = { tool: 'sparsegraph', createdAt: '', roots: [], blobs: [] };
    forge({ ...header, entries: [{ record: { key: '__proto__', provenance: {}, sizeBytes: 0, createdAt: '' }, outputs: {}, blobs: [] }] });
    await assert.rejects(importBundle(new MemoryStore(), file), { name: 'BundleError', message: `bundle ${file}: entry 0 of the header has a malformed key` });
    forge({ ...header, entries: [null] });
    await assert.rejects(importBundle(new MemoryStore(), file), { name: 'BundleError', message: `bundle ${file}: entry 0 of the header is malformed` });
    const entry = { record: { key: k('a'), provenance: { nodeId: 'a', inputs: {} }, sizeBytes: 0, createdAt: '' }, outputs: { w: { $sg: 'tensor', digest: k('blob'), bytes: 4 } }, blobs: [] };
    forge({ ...header, entries: [entry] });
    await assert.rejects(importBundle(new MemoryStore(), file), { name: 'BundleError', message: `bundle ${file}: entry ${k('a').slice(0, 12)}: outputs reference blob ${k('blob').slice(0, 12)} it does not list` });
    forge({ ...header, entries: 'no' });
    await assert.rejects(importBundle(new MemoryStore(), file), { name: 'BundleError', message: `bundle ${file}: header is not a bundle header` });
  });

  it('are never written from a corrupted store', async () => {
    const source = new MemoryStore();
    await source.put(k('x'), { w: floatTensor([100], 0, 1) }, provenance('x'));
    source.corruptBlobForTesting(source.entry(k('x'))!.blobs[0]!.digest, 50);
    const file = path.join(freshDir(), 'never.sgbundle');
    await assert.rejects(exportBundle(source, [k('x')], file), /is corrupted/);
    assert.equal(fs.existsSync(file), false);
  });
});
