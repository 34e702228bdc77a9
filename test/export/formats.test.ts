/**
 * The tensor file codecs round-trip every value, refuse a file of another type, and like the table writers
 * load no tensor library. This file runs in a process of its own (node --test), so nothing else loads tfjs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choosePort, encodeExport } from '../../science/export/formats.js';
import { checkpointFromSafetensors, curveFromSafetensors, curveToSafetensors, maskFromSafetensors } from '../../science/nn/safetensors.js';
import type { Curve } from '../../base/values.js';
import { tinyCurveOutputs } from '../fixtures/kinds.js';

test('a curve reads back equal with shared and per-point masks, and reproduces its end points', () => {
  for (const perPoint of [false, true]) {
    const { curve } = tinyCurveOutputs(3, perPoint);
    const back = curveFromSafetensors(curveToSafetensors(curve));
    assert.deepEqual(back, curve);
    assert.deepEqual(back.points[0], curve.points[0]);
    assert.deepEqual(back.points.at(-1), curve.points.at(-1));
  }
  // A file read into a Buffer from Node's pool sits at any offset; the tensors must still come back.
  const bytes = curveToSafetensors(tinyCurveOutputs(2, false).curve);
  const unaligned = Buffer.concat([Buffer.alloc(1), bytes]).subarray(1);
  assert.deepEqual(curveFromSafetensors(unaligned), tinyCurveOutputs(2, false).curve);
});

test('a curve, a mask or a checkpoint file read as another type is an error that says what it holds', () => {
  const { curve } = tinyCurveOutputs(2, false);
  const bytes = curveToSafetensors(curve);
  assert.throws(() => checkpointFromSafetensors(bytes, { source: 'c.safetensors' }), /^Error: c\.safetensors: holds a Curve, not a Checkpoint$/);
  assert.throws(() => maskFromSafetensors(bytes), /holds a Curve, not a Mask/);
  const mask = encodeExport('Mask', { model: curve.points[0]!.model, masks: curve.points[0]!.masks }, '.safetensors').bytes;
  assert.throws(() => curveFromSafetensors(mask), /holds a Mask, not a Curve/);
  const mixed: Curve = { ...curve, points: [curve.points[0]!, { ...curve.points[1]!, model: { ...curve.points[1]!.model, numClasses: 3 } }] };
  assert.throws(() => curveToSafetensors(mixed), /curve point 1 has model/);
});

test('port choice: the named port, else the one the extension fits; a single output stands for itself', () => {
  const outputs = [
    { port: 'curve', type: 'Curve' as const },
    { port: 'landscape', type: 'Landscape' as const },
  ];
  assert.deepEqual(choosePort(outputs, '.safetensors'), { ok: true, port: 'curve', type: 'Curve' });
  assert.deepEqual(choosePort(outputs, '.csv'), { ok: true, port: 'landscape', type: 'Landscape' });
  assert.deepEqual(choosePort([outputs[1]!], '.safetensors'), { ok: false, reason: 'wrong-extension', port: 'landscape', type: 'Landscape', extension: '.safetensors' });
  assert.deepEqual(choosePort(outputs, '.png'), { ok: false, reason: 'unknown-extension', extension: '.png' });
});

test('every format is written without loading a tensor library', () => {
  const { curve, landscape, metrics } = tinyCurveOutputs(2, false);
  encodeExport('Curve', curve, '.safetensors');
  encodeExport('Checkpoint', curve.points[0]!, '.safetensors');
  for (const ext of ['.json', '.csv']) {
    encodeExport('Landscape', landscape, ext);
    encodeExport('Metrics', metrics, ext);
  }
  encodeExport('Figure', { format: 'svg', svg: '<svg/>', data: null }, '.svg');
  assert.equal('_tfengine' in globalThis, false);
});
