/**
 * The one function that computes a node instance's cache key.
 *
 * key = sha256(canonical JSON of { format, kind, version, params (defaults applied), inputs (upstream
 * keys), data (dataset fingerprint), file (digest of a file read), salt }). Canonical JSON (RFC 8785) sorts object keys by code point
 * and fixes number formatting, so formatting, comments, key order, node ids and file locations never
 * reach the hash, while any change upstream does (the key is a Merkle hash of the whole history).
 */
import { createHash } from 'node:crypto';
import type { NodeKey } from '../base/brand.js';
import { canonicalJson } from '../base/canonical-json.js';
import { unkeyableAt } from './keyable.js';
import type { Coordinates } from '../base/values.js';

/** Bumped only if the encoding below changes; every key changes with it. */
export const KEY_FORMAT = 1;

/** One output port of an upstream result. */
export interface OutputRef {
  readonly key: NodeKey;
  readonly port: string;
}

/** One upstream output delivered to a gathering port, with the label and coordinates it is drawn with. */
export interface GatheredRef extends OutputRef {
  readonly label: string;
  readonly coords: Coordinates;
}

/** Everything that determines a result, and nothing else. Recorded in plans and provenance. */
export interface KeyComponents {
  readonly kind: string;
  readonly version: number;
  readonly params: unknown;
  readonly inputs: Readonly<Record<string, OutputRef | readonly GatheredRef[]>>;
  /** Fingerprint of the dataset the node reads, if any. */
  readonly data?: string;
  /** sha256 of a file the node reads (an imported checkpoint), if any; its path never counts. */
  readonly file?: string;
  /** Set in the pipeline to force a new key. */
  readonly salt?: string | number;
}


export function nodeKey(components: KeyComponents): NodeKey {
  const { kind, version, params, inputs, data, file, salt } = components;
  // Analysis refuses such numbers where they are written (keyable.ts); canonical JSON would hash NaN as
  // null and 2^53 + 1 as 2^53, so one reaching here is a bug, said as one rather than hashed.
  const unkeyable = unkeyableAt({ params, inputs, salt });
  if (unkeyable) throw new Error(`key of a ${kind} instance: ${unkeyable.path.join('.')} ${unkeyable.message}`);
  const body = canonicalJson({
    format: KEY_FORMAT,
    kind,
    version,
    params,
    inputs,
    ...(data === undefined ? {} : { data }),
    ...(file === undefined ? {} : { file }),
    ...(salt === undefined ? {} : { salt }),
  });
  return createHash('sha256').update(body).digest('hex') as NodeKey;
}
