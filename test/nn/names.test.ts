import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { Rng } from '../../science/data/random.js';
import { selectBackend } from '../../science/nn/backend.js';
import { uploadCheckpoint } from '../../science/nn/device.js';
import { denseMasks, initCheckpoint } from '../../science/nn/init.js';
import { ARCHITECTURES, buildNetwork } from '../../science/nn/models/index.js';
import { ARCHITECTURE_NAMES, INITIALIZERS, SCHEDULE_NAMES, SPARSE_METHODS, type ArchitectureName, type InitializerName } from '../../science/nn/names.js';
import { isPrunable, isTrainable } from '../../science/nn/network.js';
import { learningRate } from '../../science/nn/schedules.js';
import { tf } from '../../science/nn/tf.js';
import type { ModelSpec } from '../../base/values.js';
import { bezierFitParams } from '../../nodes/bezier-fit/def.js';
import { ArchParam, InitializerParam, ScheduleParam, TrainingParams } from '../../nodes/common/params.js';
import { initParams } from '../../nodes/init/def.js';
import { scheduleOf } from '../../nodes/common/run-support.js';
import { trainSparseParams } from '../../nodes/train-sparse-scratch/def.js';

/** The literal names a TypeBox union of literals accepts. */
const constsOf = (schema: TSchema): unknown[] => {
  const anyOf = (schema as { anyOf?: { const: unknown }[] }).anyOf;
  assert.ok(Array.isArray(anyOf), 'a union');
  return anyOf.map((s) => s.const);
};

const specs: Record<ArchitectureName, ModelSpec> = {
  lenet300: { arch: 'lenet300', inputShape: [784], numClasses: 10 },
  mlp: { arch: 'mlp', inputShape: [12], numClasses: 3, options: { hidden: [5] } },
  lenet5: { arch: 'lenet5', inputShape: [28, 28, 1], numClasses: 10 },
  resnet20: { arch: 'resnet20', inputShape: [8, 8, 3], numClasses: 3, options: { blocks: 1, width: 4 } },
  resnet: { arch: 'resnet', inputShape: [8, 8, 3], numClasses: 4, options: { blocks: 1, width: 2 } },
};

test('ARCHITECTURE_NAMES are exactly the keys of ARCHITECTURES, and each builds and runs', async () => {
  await selectBackend();
  assert.deepEqual([...ARCHITECTURE_NAMES].sort(), Object.keys(ARCHITECTURES).sort());
  assert.deepEqual(Object.keys(specs).sort(), [...ARCHITECTURE_NAMES].sort());
  const before = tf.memory().numTensors;
  for (const name of ARCHITECTURE_NAMES) {
    const spec = specs[name];
    const net = buildNetwork(spec);
    assert.equal(net.spec, spec);
    const p = uploadCheckpoint(net, initCheckpoint({ model: spec, seed: 1 }));
    const d = spec.inputShape.reduce((a, b) => a * b, 1);
    const rng = new Rng(1, 'names-test');
    const logits = tf.tidy(() => net.logits(p, tf.tensor2d(Float32Array.from({ length: 2 * d }, () => rng.normal()), [2, d])));
    assert.deepEqual(logits.shape, [2, spec.numClasses], name);
    assert.ok([...logits.dataSync()].every(Number.isFinite), name);
    tf.dispose([logits, ...Object.values(p)]);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => buildNetwork({ arch: 'vgg', inputShape: [1], numClasses: 2 }), /unknown architecture 'vgg'; known: lenet300, mlp, lenet5, resnet20, resnet/);
});

test('the named architectures have their published sizes', () => {
  const count = (spec: ModelSpec) => buildNetwork(spec).params.filter(isTrainable).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  // 784*300+300 + 300*100+100 + 100*10+10
  assert.equal(count({ arch: 'lenet300', inputShape: [784], numClasses: 10 }), 266610);
  // conv 156 + conv 2416 + fc 48120 + 10164 + 850
  assert.equal(count({ arch: 'lenet5', inputShape: [28, 28, 1], numClasses: 10 }), 61706);
  // ResNet-20 with parameter-free shortcuts: 19 convolutions, 19 batch norms, one linear layer (0.27M).
  const r20 = { arch: 'resnet20', inputShape: [32, 32, 3], numClasses: 10 };
  assert.equal(count(r20), 269722);
  assert.equal(buildNetwork(r20).params.filter(isPrunable).length, 20);
  assert.equal(count({ arch: 'resnet', inputShape: [32, 32, 3], numClasses: 10, options: { blocks: 3 } }), 269722);
});

// lenet300's fc1 [300, 784] keeps entry (o, i) when (o + i) % 10 == 0: output o keeps 78 or 79 inputs
// (784 = 78*10 + 4), and every input keeps 30 outputs.
const lenet300 = specs.lenet300;
const mask = denseMasks(lenet300);
mask['fc1.weight']!.data.forEach((_, k, a) => (a[k] = (Math.floor(k / 784) + (k % 784)) % 10 === 0 ? 1 : 0));
const fanIn = (o: number) => [...Array(784).keys()].filter((i) => (o + i) % 10 === 0).length;

test('the test mask has the fans its comment says', () => {
  assert.equal(fanIn(0), 79); // 0, 10, ..., 780
  assert.equal(fanIn(7), 79); // 3, 13, ..., 783
  assert.equal(fanIn(5), 78); // 5, 15, ..., 775
  for (let i = 0; i < 784; i++) assert.equal([...Array(300).keys()].filter((o) => (o + i) % 10 === 0).length, 30);
});

const weightVar = (name: InitializerName, fin: number, fout: number) => (name.startsWith('glorot') ? 2 / (fin + fout) : 2 / fin);

for (const name of INITIALIZERS) {
  test(`initializer ${name}: runs dense and masked on lenet300, seed-deterministic, streams differ, right scale`, () => {
    const dense = initCheckpoint({ model: lenet300, seed: 5, initializer: name });
    const again = initCheckpoint({ model: lenet300, seed: 5, initializer: name });
    const other = initCheckpoint({ model: lenet300, seed: 5, initializer: name, stream: 'scratch' });
    const masked = initCheckpoint({ model: lenet300, seed: 5, initializer: name, masks: mask });
    for (const t of Object.keys(dense.tensors)) assert.deepEqual(again.tensors[t]!.data, dense.tensors[t]!.data, t);
    assert.notDeepEqual(other.tensors['fc1.weight']!.data, dense.tensors['fc1.weight']!.data);
    assert.equal(dense.meta?.['initializer'], name);
    assert.equal(other.meta?.['stream'], 'scratch');

    const d = dense.tensors['fc1.weight']!.data;
    const w = masked.tensors['fc1.weight']!.data;
    const m = mask['fc1.weight']!.data;
    assert.deepEqual(masked.masks['fc1.weight']!.data, m);
    const scaled = name.endsWith('_scaled');
    const uniform = name.includes('uniform');
    // Dense: the variance of the plain initialiser, 2/(784+300) or 2/784, and the uniform bound sqrt(3) std.
    const denseVar = weightVar(name, 784, 300);
    let sq = 0;
    for (const v of d) {
      sq += v * v;
      if (uniform) assert.ok(Math.abs(v) <= Math.sqrt(3 * denseVar) * (1 + 1e-6));
    }
    assert.ok(Math.abs(sq / d.length / denseVar - 1) < 0.02, `dense variance ratio ${sq / d.length / denseVar}`);

    // Masked: zeros where the mask is 0; each kept entry is the dense draw, rescaled by the surviving fans
    // for the *_scaled variants (the same random numbers are drawn for every entry).
    let ratioSum = 0;
    let kept = 0;
    for (let o = 0; o < 300; o++) {
      const entryVar = scaled ? weightVar(name, fanIn(o), 30) : denseVar;
      const factor = Math.sqrt(entryVar / denseVar);
      for (let i = 0; i < 784; i++) {
        const k = o * 784 + i;
        if (!m[k]) {
          assert.ok(Object.is(w[k], 0), `masked entry ${k}`);
          continue;
        }
        if (scaled) assert.ok(Math.abs(w[k]! - d[k]! * factor) <= 1e-6 * Math.abs(w[k]!) + 1e-12, `entry ${k}: ${w[k]} vs ${d[k]! * factor}`);
        else assert.equal(w[k], d[k], `entry ${k}`);
        if (uniform) assert.ok(Math.abs(w[k]!) <= Math.sqrt(3 * entryVar) * (1 + 1e-6), `entry ${k} beyond the uniform bound`);
        ratioSum += (w[k]! * w[k]!) / entryVar;
        kept++;
      }
    }
    assert.equal(kept, 23520);
    assert.ok(Math.abs(ratioSum / kept - 1) < 0.04, `masked variance / target ${ratioSum / kept}`);
    if (scaled) {
      // he: Var ratio 784 / ~78.4 = 10; glorot: (784 + 300) / (~78.4 + 30) = 10.0.
      let s2 = 0;
      for (let k = 0; k < w.length; k++) if (m[k]) s2 += w[k]! * w[k]!;
      const ratio = s2 / kept / denseVar;
      assert.ok(ratio > 9 && ratio < 11, `scaled / dense variance ${ratio}`);
    }
    // Layers without a mask are the dense draw, biases are zero.
    assert.deepEqual(masked.tensors['fc2.weight']!.data, dense.tensors['fc2.weight']!.data);
    assert.ok(masked.tensors['fc1.bias']!.data.every((v) => v === 0));
  });
}

test('an unknown initializer is an error listing the known ones', () => {
  assert.throws(() => initCheckpoint({ model: lenet300, seed: 1, initializer: 'lecun' as InitializerName }), new RegExp(`unknown initializer 'lecun'; known: ${INITIALIZERS.join(', ')}`));
});

test('every schedule name maps through scheduleOf to a finite positive rate at every step; step milestones in epochs', () => {
  const trainSize = 320;
  const p = { lr_final: undefined, lr_milestones: [1, 2.5], lr_gamma: 0.5, batch_size: 32 };
  const total = 50; // 5 epochs of 10 steps
  for (const name of SCHEDULE_NAMES) {
    const schedule = scheduleOf({ ...p, schedule: name }, trainSize);
    assert.equal(schedule.kind, name);
    for (let s = 0; s < total; s++) {
      const lr = learningRate(s, total, { base: 0.2, schedule, warmupSteps: 3 });
      assert.ok(Number.isFinite(lr) && lr > 0, `${name} at step ${s}: ${lr}`);
      assert.ok(lr <= 0.2 + 1e-15);
    }
  }
  const step = scheduleOf({ ...p, schedule: 'step' }, trainSize);
  // Epoch 1 = 320/32 = step 10; epoch 2.5 = step 25.
  assert.deepEqual(step, { kind: 'step', milestones: [10, 25], gamma: 0.5 });
  const lr = (s: number) => learningRate(s, total, { base: 0.2, schedule: step });
  assert.equal(lr(0), 0.2);
  assert.equal(lr(9), 0.2);
  assert.equal(lr(10), 0.1);
  assert.equal(lr(24), 0.1);
  assert.equal(lr(25), 0.05);
  assert.equal(lr(49), 0.05);
  assert.deepEqual(scheduleOf({ ...p, schedule: 'cosine' }, trainSize), { kind: 'cosine', final: 0 });
  assert.deepEqual(scheduleOf({ ...p, schedule: 'mode-connectivity' }, trainSize), { kind: 'mode-connectivity', final: 0.01 });
  assert.deepEqual(scheduleOf({ ...p, schedule: 'cosine', lr_final: 0.1 }, trainSize), { kind: 'cosine', final: 0.1 });
  // Cosine ends just above lr_final x base; mode-connectivity is at 1% from 90% on.
  const cos = scheduleOf({ ...p, schedule: 'cosine', lr_final: 0.1 }, trainSize);
  assert.ok(Math.abs(learningRate(49, total, { base: 1, schedule: cos }) - (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.98)))) < 1e-12);
  const mc = scheduleOf({ ...p, schedule: 'mode-connectivity' }, trainSize);
  assert.equal(learningRate(46, total, { base: 1, schedule: mc }), 0.01);
  assert.equal(learningRate(25, total, { base: 1, schedule: mc }), 1);
});

test('the schemas list exactly these names', () => {
  const arch = (initParams.properties as Record<string, TSchema>)['arch']!;
  const initializer = (initParams.properties as Record<string, TSchema>)['initializer']!;
  assert.deepEqual(constsOf(arch), ARCHITECTURE_NAMES);
  assert.deepEqual(constsOf(ArchParam), ARCHITECTURE_NAMES);
  assert.deepEqual(constsOf(initializer), INITIALIZERS);
  assert.deepEqual(constsOf(InitializerParam), INITIALIZERS);
  assert.deepEqual(constsOf(ScheduleParam), SCHEDULE_NAMES);
  assert.deepEqual(constsOf((TrainingParams.properties as Record<string, TSchema>)['schedule']!), SCHEDULE_NAMES);
  assert.deepEqual(constsOf((bezierFitParams.properties as Record<string, TSchema>)['schedule']!), SCHEDULE_NAMES);
  assert.deepEqual(constsOf((trainSparseParams.properties as Record<string, TSchema>)['method']!), SPARSE_METHODS);
  // Defaults are names the lists hold.
  assert.ok(ARCHITECTURE_NAMES.includes(arch['default'] as ArchitectureName));
  assert.ok(INITIALIZERS.includes(initializer['default'] as InitializerName));
  assert.ok((SCHEDULE_NAMES as string[]).includes(ScheduleParam['default'] as string));
  // Each name's description is in the schema's documentation.
  for (const n of INITIALIZERS) assert.match(String(initializer['description']), new RegExp(`${n}: `));
});
