/** Learning-rate schedules: a pure function of the step, so resuming needs no schedule state. */

/**
 * The final rate, as a fraction of the base rate, of a schedule that names none: cosine decays to 0,
 * Garipov et al.'s mode-connectivity schedule to 1%. The one place these defaults are written: the
 * kinds' `lr_final` and the schemas' descriptions read them from here.
 */
export const LR_FINAL_DEFAULTS = { cosine: 0, 'mode-connectivity': 0.01 } as const;
/** The factor of the step schedule at each milestone when none is given (the kinds' `lr_gamma` default). */
export const LR_GAMMA_DEFAULT = 0.1;

export type LrSchedule =
  | { readonly kind: 'constant' }
  /** Cosine decay from the base rate to `final` x base at the last step (default `LR_FINAL_DEFAULTS.cosine`). */
  | { readonly kind: 'cosine'; readonly final?: number }
  /** Multiply by `gamma` (default `LR_GAMMA_DEFAULT`) at each milestone step. */
  | { readonly kind: 'step'; readonly milestones: readonly number[]; readonly gamma?: number }
  /**
   * Garipov et al.'s curve-fitting schedule: base rate for the first half, then linearly down to
   * `final` x base (default `LR_FINAL_DEFAULTS['mode-connectivity']`) at 90% of training, then constant.
   */
  | { readonly kind: 'mode-connectivity'; readonly final?: number };

export interface LrOptions {
  readonly base: number;
  readonly schedule?: LrSchedule;
  /** Linear warm-up from base/warmupSteps to base over the first steps (default 0: none). */
  readonly warmupSteps?: number;
}

/** Learning rate used for step `step` (0-based) of `totalSteps`. */
export function learningRate(step: number, totalSteps: number, opts: LrOptions): number {
  const s = opts.schedule ?? { kind: 'constant' };
  const frac = totalSteps > 0 ? step / totalSteps : 0;
  let factor: number;
  switch (s.kind) {
    case 'constant':
      factor = 1;
      break;
    case 'cosine': {
      const final = s.final ?? LR_FINAL_DEFAULTS.cosine;
      factor = final + (1 - final) * 0.5 * (1 + Math.cos(Math.PI * Math.min(frac, 1)));
      break;
    }
    case 'step':
      factor = (s.gamma ?? LR_GAMMA_DEFAULT) ** s.milestones.filter((m) => step >= m).length;
      break;
    case 'mode-connectivity': {
      const final = s.final ?? LR_FINAL_DEFAULTS['mode-connectivity'];
      factor = frac <= 0.5 ? 1 : frac <= 0.9 ? 1 - ((frac - 0.5) / 0.4) * (1 - final) : final;
      break;
    }
  }
  const warm = opts.warmupSteps ?? 0;
  if (warm > 0 && step < warm) factor *= (step + 1) / warm;
  return opts.base * factor;
}
