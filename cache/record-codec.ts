/**
 * The encoding of every non-blob value the cache stores (records, progress, claims, pins, bundle
 * headers): MessagePack without shared structures, so that each value's bytes stand alone and can be
 * copied into a bundle or another store unchanged. MessagePack (unlike JSON) keeps NaN, Infinity,
 * undefined, Dates and typed arrays; -0 is handled by tree-codec.ts.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function packValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function unpackValue<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
