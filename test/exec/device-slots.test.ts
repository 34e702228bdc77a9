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
  // Queued, not granted: nothing but a release can settle it now.
  assert.equal(slots.queued, 1);
  await Promise.resolve();
  assert.equal(third, undefined, 'the third holder waits while both slots are taken');
  slots.release(1);
  await waiting;
  assert.equal(third, 1);
});

test('a released slot goes to the waiter with the highest priority, equal priorities in the order they asked', async () => {
  const slots = new DeviceSlots(1);
  const held = await slots.acquire();
  const granted: string[] = [];
  let onGrant: () => void = () => undefined;
  const ask = (name: string, priority: number) => slots.acquire(priority).then((slot) => (granted.push(name), onGrant(), slot));
  const waiters = [ask('low', 1), ask('high', 5), ask('mid-first', 3), ask('mid-second', 3)];
  assert.equal(slots.queued, 4);
  // One release at a time, each followed by the grant it causes: the order granted is the order chosen.
  for (let i = 0; i < waiters.length; i++) {
    const next = new Promise<void>((resolve) => (onGrant = resolve));
    slots.release(i === 0 ? held! : 0);
    await next;
    assert.equal(granted.length, i + 1);
    assert.equal(slots.queued, waiters.length - i - 1);
  }
  assert.deepEqual(await Promise.all(waiters), [0, 0, 0, 0]);
  assert.deepEqual(granted, ['high', 'mid-first', 'mid-second', 'low']);
});

test('without accelerators there is no slot and no limit', async () => {
  const slots = new DeviceSlots(0);
  assert.deepEqual(await Promise.all([slots.acquire(), slots.acquire(), slots.acquire()]), [undefined, undefined, undefined]);
});
