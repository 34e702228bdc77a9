/**
 * Pins: labels that keep a result through gc (`pin`, `unpin`, `pins` of the store), one record per key
 * and label in the `pins` table.
 */
import type { NodeKey } from '../base/brand.js';
import { pinKey, TABLES, type PinValue } from './layout.js';
import { packRecord } from './record-codec.js';
import type { StoreAccess } from './store-access.js';
import type { PinRecord } from './store.js';

/** Pins `key` under `label`, unless that pin exists (then its first date stays). */
export async function addPin(access: StoreAccess, key: NodeKey, label: string): Promise<void> {
  if (label.length === 0 || label.length > 200) throw new RangeError('a pin label has 1 to 200 characters');
  const value: PinValue = { key, label, pinnedAt: new Date().toISOString() };
  await access.write(() => {
    const table = access.table(TABLES.pins);
    const at = pinKey(key, label);
    if (access.get<PinValue>(TABLES.pins, at) === undefined) table.put(at, packRecord(at, value));
  });
}

/** Removes the pins of `key` (only the one named `label`, if given); returns how many. */
export async function removePins(access: StoreAccess, key: NodeKey, label?: string): Promise<number> {
  return access.write(() => {
    const table = access.table(TABLES.pins);
    let removed = 0;
    for (const k of table.keys()) {
      const pin = access.get<PinValue>(TABLES.pins, k);
      if (pin?.key === key && (label === undefined || pin.label === label)) {
        table.remove(k);
        removed++;
      }
    }
    return removed;
  });
}

/** Every sound pin, by key and then label. */
export function listPins(access: StoreAccess): PinRecord[] {
  const table = access.table(TABLES.pins);
  const pins = table.keys().flatMap((k) => {
    const pin = access.get<PinValue>(TABLES.pins, k);
    return pin === undefined ? [] : [pin];
  });
  return pins.sort((a, b) => (a.key === b.key ? compare(a.label, b.label) : compare(a.key, b.key)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
