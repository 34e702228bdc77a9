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

test('a released slot goes to the waiter with the highest priority, equal priorities in the order they asked', async () => {
  const slots = new DeviceSlots(1);
  const held = await slots.acquire();
  const granted: string[] = [];
  const ask = (name: string, priority: number) => slots.acquire(priority).then((slot) => (granted.push(name), slot));
  const waiters = [ask('low', 1), ask('high', 5), ask('mid-first', 3), ask('mid-second', 3)];
  for (let i = 0; i < waiters.length; i++) {
    slots.release(i === 0 ? held! : 0);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(waiters);
  assert.deepEqual(granted, ['high', 'mid-first', 'mid-second', 'low']);
});

test('without accelerators there is no slot and no limit', async () => {
  const slots = new DeviceSlots(0);
  assert.deepEqual(await Promise.all([slots.acquire(), slots.acquire(), slots.acquire()]), [undefined, undefined, undefined]);
});
