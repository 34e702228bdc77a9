/**
 * Node kinds that hold a run where a test wants it, loaded with `--kinds` beside test/fixtures/kinds.ts.
 * Each appends `<event> <pid>` lines to the file its `log` param names, so that a test counts how often
 * (and by which process) a key was computed.
 */
import { Type } from '@sinclair/typebox';
import { appendFileSync, existsSync } from 'node:fs';
import { defineNode } from '../../engine/node-def.js';

const note = (log: string, event: string): void => appendFileSync(log, `${event} ${process.pid}\n`);

/**
 * Blocks its thread synchronously for `ms`: the event loop stands still (no timer, no heartbeat), as in
 * a long computation on the inline runner, without taking a core from the other processes of the test.
 */
export const blockSync = defineNode({
  kind: 'test-block-sync',
  version: 1,
  description: 'A synchronous step of `ms` milliseconds.',
  params: Type.Object({ ms: Type.Integer({ minimum: 0 }), log: Type.String(), v: Type.Number({ default: 1 }) }, { additionalProperties: false }),
  inputs: {},
  outputs: { out: { type: 'Metrics', doc: 'v' } },
  run: async ({ params }) => {
    note(params.log, 'start');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, params.ms);
    note(params.log, 'end');
    return { out: { values: { v: params.v } } };
  },
});

/** Waits (with its event loop running) until the file `release` exists, then passes its input on. */
export const gate = defineNode({
  kind: 'test-gate',
  version: 1,
  description: 'Holds the run until a file appears.',
  params: Type.Object({ log: Type.String(), release: Type.String() }, { additionalProperties: false }),
  inputs: { after: { type: 'Metrics', optional: true, doc: 'passed on' } },
  outputs: { out: { type: 'Metrics', doc: 'the input, or 0' } },
  run: async ({ params, inputs, signal }) => {
    note(params.log, 'start');
    while (!existsSync(params.release)) {
      signal.throwIfAborted();
      await new Promise((r) => setTimeout(r, 20));
    }
    note(params.log, 'end');
    return { out: inputs.after ?? { values: { v: 0 } } };
  },
});

export const kinds = [blockSync, gate];
