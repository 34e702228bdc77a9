import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceSlots } from '../../engine/exec/device-slots.js';

test('two holders never share an accelerator slot; a waiter gets the slot released first', async () => {
  const slots = new DeviceSlots(2);
  const a = await slots.acquire();
  const b = await slots.acquire();
  assert.deepEqual([a, b], [0, 1]);
  let third: number | undefined;
  const waiting = slots.acquire().then((s) => (third = s));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(third, undefined, 'the third holder waits while both slots are taken');
  slots.release(1);
  await waiting;
  assert.equal(third, 1);
});

test('without accelerators there is no slot and no limit', async () => {
  const slots = new DeviceSlots(0);
  assert.deepEqual(await Promise.all([slots.acquire(), slots.acquire(), slots.acquire()]), [undefined, undefined, undefined]);
});
