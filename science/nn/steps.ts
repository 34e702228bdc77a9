/**
 * How long a run is in optimizer steps: the one formula the training loop runs for and analysis checks
 * schedules against before anything runs. No tensor library here (analysis imports it).
 */

/** Total steps for a length in steps or epochs and a dataset of n samples: ceil(epochs * n / batchSize). */
export function totalSteps(opts: { readonly steps?: number; readonly epochs?: number; readonly batchSize?: number }, n: number): number {
  if (opts.steps !== undefined) return opts.steps;
  return Math.ceil(((opts.epochs ?? 1) * n) / (opts.batchSize ?? 128));
}
