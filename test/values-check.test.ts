/** The port-type checks, on small literal values: each well-formed value passes, each flaw is named. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCheckpoint, checkCurve, checkFigure, checkLandscape, checkMask, checkMetrics, checkPortValue } from '../engine/values-check.js';
import type { Checkpoint, Curve, Landscape, Mask } from '../base/values.js';

const model = { arch: 'mlp', inputShape: [2], numClasses: 3 };
const checkpoint = (w = [1, 2, 3, 4, 5, 6]): Checkpoint => ({
  model,
  tensors: {
    'fc1.weight': { dtype: 'float32', shape: [3, 2], data: Float32Array.from(w) },
    'fc1.bias': { dtype: 'float32', shape: [3], data: new Float32Array(3) },
  },
  masks: { 'fc1.weight': { dtype: 'uint8', shape: [3, 2], data: Uint8Array.from([1, 0, 1, 1, 0, 1]) } },
  step: 0,
  meta: { seed: 1, note: 'x', dense: false },
});
const mask: Mask = { model, masks: { 'fc1.weight': { dtype: 'uint8', shape: [3, 2], data: new Uint8Array(6) } } };
/** The value with one field replaced (or removed, for undefined). */
const edit = (value: object, changes: Record<string, unknown>): unknown => {
  const out = { ...value } as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) v === undefined ? delete out[k] : (out[k] = v);
  return out;
};

test('a well-formed checkpoint passes; a PyTorch one without masks too', () => {
  assert.equal(checkCheckpoint(checkpoint()), undefined);
  assert.equal(checkCheckpoint({ ...checkpoint(), masks: {} }), undefined);
  assert.equal(checkPortValue('Checkpoint', checkpoint()), undefined);
});

test('checkpoint flaws are named: missing fields, dtypes, sizes, masks off their weights', () => {
  const ck = checkpoint();
  const w = ck.tensors['fc1.weight']!;
  const cases: [unknown, string][] = [
    [mask, "missing 'tensors'"],
    [[ck], 'got a list'],
    [edit(ck, { model: undefined }), "missing 'model'"],
    [edit(ck, { model: { ...model, arch: '' } }), `'model.arch' is "", not an architecture name`],
    [edit(ck, { model: { ...model, inputShape: [0] } }), "'model.inputShape' is a list, not a list of positive integers"],
    [edit(ck, { tensors: { ...ck.tensors, 'fc1.weight': { ...w, dtype: 'int32', data: new Int32Array(6) } } }), "tensor 'fc1.weight': dtype is \"int32\", expected 'float32'"],
    [edit(ck, { tensors: { ...ck.tensors, 'fc1.weight': { ...w, data: [1, 2, 3, 4, 5, 6] } } }), "tensor 'fc1.weight': data is a list, not a Float32Array"],
    [edit(ck, { tensors: { ...ck.tensors, 'fc1.weight': { ...w, data: new Float32Array(5) } } }), "tensor 'fc1.weight': data has 5 values, shape [3, 2] needs 6"],
    [edit(ck, { masks: undefined }), "missing 'masks'"],
    [edit(ck, { masks: { 'fc2.weight': ck.masks['fc1.weight'] } }), "mask 'fc2.weight' has no tensor 'fc2.weight' to mask"],
    [edit(ck, { masks: { 'fc1.weight': { dtype: 'uint8', shape: [2, 3], data: new Uint8Array(6) } } }), "mask 'fc1.weight' has shape [2, 3], its weight [3, 2]"],
    [edit(ck, { masks: { 'fc1.weight': { dtype: 'float32', shape: [3, 2], data: new Float32Array(6) } } }), "mask 'fc1.weight': dtype is \"float32\", expected 'uint8'"],
    [edit(ck, { masks: { 'fc1.weight': { dtype: 'uint8', shape: [3, 2], data: Uint8Array.from([1, 0, 2, 1, 0, 1]) } } }), "mask 'fc1.weight' holds 2 at index 2; a mask holds only 0 and 1"],
    [edit(ck, { step: -1 }), "'step' is -1, not a non-negative integer"],
    [edit(ck, { meta: { seed: [1] } }), "meta 'seed' is a list, not a number, string or boolean"],
  ];
  for (const [value, problem] of cases) assert.equal(checkCheckpoint(value), problem);
});

test('a mask passes; one missing its model or masks, or of the wrong size, is named', () => {
  assert.equal(checkMask(mask), undefined);
  assert.equal(checkMask({ model }), "missing 'masks'");
  assert.equal(checkMask({ masks: mask.masks }), "missing 'model'");
  assert.equal(checkMask({ model, masks: { w: { dtype: 'uint8', shape: [4], data: new Uint8Array(3) } } }), "mask 'w': data has 3 values, shape [4] needs 4");
});

test('a Bezier curve needs degree + 1 checkpoints sharing tensor names and shapes', () => {
  const curve: Curve = { family: 'bezier', degree: 2, subspace: 'sparse', points: [checkpoint(), checkpoint(), checkpoint()] };
  assert.equal(checkCurve(curve), undefined);
  assert.equal(checkCurve({ ...curve, family: 'polychain', degree: 1 }), undefined);
  assert.equal(checkCurve({ ...curve, degree: 1 }), 'a Bezier curve of degree 1 needs 2 points, got 3');
  assert.equal(checkCurve({ ...curve, points: [checkpoint()] }), "'points' has 1 checkpoint(s); a curve needs both end points");
  assert.equal(checkCurve({ ...curve, points: [checkpoint(), mask, checkpoint()] }), "point 1: missing 'tensors'");
  assert.equal(checkCurve({ ...curve, family: 'spline' }), `'family' is "spline", not 'bezier' or 'polychain'`);
  const { 'fc1.bias': _bias, ...noBias } = checkpoint().tensors;
  assert.equal(checkCurve({ ...curve, points: [checkpoint(), { ...checkpoint(), tensors: noBias }, checkpoint()] }), "point 1: has no tensor 'fc1.bias' (point 0 has)");
});

test('a landscape has finite positions, a split, any loss and accuracies in [0, 1] or NaN', () => {
  const landscape: Landscape = {
    axis: 't',
    points: [
      { x: 0, split: 'train', loss: 0.3, accuracy: 0.9 },
      { x: 0.5, split: 'test', loss: Infinity, accuracy: Number.NaN },
    ],
    label: { from: 'a', to: 'b' },
  };
  assert.equal(checkLandscape(landscape), undefined);
  const point = (p: object) => ({ ...landscape, points: [{ x: 0, split: 'train', loss: 0, accuracy: 0, ...p }] });
  assert.equal(checkLandscape(point({ x: Number.NaN })), "point 0: 'x' is NaN, not a finite number");
  assert.equal(checkLandscape(point({ split: 'val' })), `point 0: 'split' is "val", not 'train' or 'test'`);
  assert.equal(checkLandscape(point({ loss: '0.1' })), `point 0: 'loss' is "0.1", not a number`);
  assert.equal(checkLandscape(point({ accuracy: 90 })), "point 0: 'accuracy' is 90, not a fraction in [0, 1]");
  assert.equal(checkLandscape({ ...landscape, axis: 's' }), `'axis' is "s", not 't' or 'alpha'`);
  assert.equal(checkLandscape({ ...landscape, label: { from: 1 } }), "label 'from' is 1, not a string");
});

test('metrics hold numbers and series of numbers; a figure holds an svg and its data', () => {
  assert.equal(checkMetrics({ values: { loss: 0.1, acc: Number.NaN }, series: { loss: [1, 0.5] } }), undefined);
  assert.equal(checkMetrics({ values: { loss: '0.1' } }), `value 'loss' is "0.1", not a number`);
  assert.equal(checkMetrics({ values: {}, series: { loss: [1, null] } }), "series 'loss' item 1 is null, not a number");
  assert.equal(checkMetrics({ v: 1 }), "missing 'values'");
  assert.equal(checkFigure({ format: 'svg', svg: '<svg xmlns="http://www.w3.org/2000/svg"/>', data: [] }), undefined);
  assert.equal(checkFigure({ format: 'png', svg: '', data: [] }), `'format' is "png", not 'svg'`);
  assert.equal(checkFigure({ format: 'svg', svg: '<svg/>' }), "missing 'data' (the data the figure was drawn from)");
  assert.equal(checkFigure({ format: 'svg', svg: 'hello', data: null }), "'svg' holds no <svg> element");
});
