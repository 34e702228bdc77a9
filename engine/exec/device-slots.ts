/** Accelerator slots, so that two trainings never share one GPU unintentionally. */
export class DeviceSlots {
  private readonly free: number[];
  /** Highest priority first; equal priorities in the order they asked. */
  private readonly waiting: { readonly priority: number; readonly grant: (slot: number) => void }[] = [];
  private readonly unlimited: boolean;

  /** `count` slots numbered from 0; 0 means no accelerator, so no limit. */
  constructor(count: number) {
    this.free = Array.from({ length: count }, (_, i) => i);
    this.unlimited = count === 0;
  }

  /** A slot; while none is free, a released one goes to the waiting holder with the highest `priority`. */
  async acquire(priority = 0): Promise<number | undefined> {
    if (this.unlimited) return undefined;
    const slot = this.free.shift();
    if (slot !== undefined) return slot;
    return new Promise((grant) => {
      const behind = this.waiting.findIndex((w) => w.priority < priority);
      this.waiting.splice(behind === -1 ? this.waiting.length : behind, 0, { priority, grant });
    });
  }

  /** How many holders are waiting for a slot (what a test observes instead of guessing with a delay). */
  get queued(): number {
    return this.waiting.length;
  }

  release(slot: number): void {
    const next = this.waiting.shift();
    if (next) next.grant(slot);
    else this.free.push(slot);
  }
}
