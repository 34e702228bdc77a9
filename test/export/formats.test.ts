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

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

test('every format is written without loading a tensor library, and holds what it was given', () => {
  const { curve, landscape, metrics } = tinyCurveOutputs(2, false);
  const curveFile = encodeExport('Curve', curve, '.safetensors');
  assert.deepEqual(curveFromSafetensors(curveFile.bytes), curve);
  assert.deepEqual(curveFile.counts, { points: 3, tensors: 12 });
  const point = curve.points[0]!;
  const checkpointFile = encodeExport('Checkpoint', point, '.safetensors');
  assert.deepEqual(checkpointFromSafetensors(checkpointFile.bytes), point);
  assert.deepEqual(checkpointFile.counts, { tensors: 4, masks: 2 });
  // JSON is the value itself; CSV is one row per point (RFC 4180 quoting), written out here by hand.
  assert.deepEqual(JSON.parse(text(encodeExport('Landscape', landscape, '.json').bytes)), landscape);
  assert.deepEqual(JSON.parse(text(encodeExport('Metrics', metrics, '.json').bytes)), metrics);
  assert.equal(
    text(encodeExport('Landscape', landscape, '.csv').bytes),
    'x,split,loss,accuracy\n0,train,0.5,0.75\n0,test,0.625,0.7\n0.5,train,2.25,0.1\n0.5,test,2.5,0.125\n1,train,0.25,0.875\n1,test,0.375,0.8\n',
  );
  assert.equal(
    text(encodeExport('Metrics', metrics, '.csv').bytes),
    'name,index,value\nbarrier,,0.125\n"odd, ""name""",,3\nloss,0,1\nloss,1,0.5\nloss,2,0.25\n',
  );
  assert.equal(text(encodeExport('Figure', { format: 'svg', svg: '<svg/>', data: null }, '.svg').bytes), '<svg/>');
  assert.equal('_tfengine' in globalThis, false);
});
