/** Accelerator slots held by tensor nodes while they run. */
/** Accelerator slots, so that two trainings never share one GPU unintentionally. */
export class DeviceSlots {
  private readonly free: number[];
  private readonly waiting: ((slot: number) => void)[] = [];
  private readonly unlimited: boolean;

  /** `count` slots numbered from 0; 0 means no accelerator, so no limit. */
  constructor(count: number) {
    this.free = Array.from({ length: count }, (_, i) => i);
    this.unlimited = count === 0;
  }

  async acquire(): Promise<number | undefined> {
    if (this.unlimited) return undefined;
    const slot = this.free.shift();
    if (slot !== undefined) return slot;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(slot: number): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }
}
