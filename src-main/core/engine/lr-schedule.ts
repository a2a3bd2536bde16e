/**
 * The learning rate of each batch under a schedule. Pure arithmetic, shared by the engine's
 * training loop, the chart (rate per epoch) and the PyTorch baseline's recipe (which uses
 * torch.optim.lr_scheduler.OneCycleLR with the same constants), so the two runs match batch for batch.
 */
import type { LearningRateSchedule } from '../../contract';

/** OneCycleLR's defaults in PyTorch: warm-up share, initial rate = peak / DIV, final = initial / FINAL_DIV. */
export const ONE_CYCLE = { warmupShare: 0.3, div: 25, finalDiv: 1e4 } as const;

/** Where a batch falls in the run: `step` counts batches from 0 over all epochs. */
export interface ScheduleStep {
  step: number;
  stepsPerEpoch: number;
  totalSteps: number;
}

const annealCos = (start: number, end: number, fraction: number): number => end + ((start - end) / 2) * (Math.cos(Math.PI * fraction) + 1);

/** The rate for one batch; `rate` is the config's learning rate (the peak for one-cycle). */
export function learningRateAt(schedule: LearningRateSchedule | undefined, rate: number, at: ScheduleStep): number {
  const kind = schedule?.kind ?? 'constant';
  const step = Math.max(0, Math.min(at.step, at.totalSteps - 1));
  switch (schedule?.kind) {
    case undefined:
    case 'constant':
      return rate;
    case 'step':
      return rate * schedule.factor ** Math.floor(Math.floor(step / at.stepsPerEpoch) / schedule.everyEpochs);
    case 'cosine':
      return at.totalSteps <= 1 ? rate : annealCos(rate, 0, step / (at.totalSteps - 1));
    case 'one-cycle': {
      // PyTorch's OneCycleLR (three_phase=False, anneal_strategy='cos'), step for step.
      const initial = rate / ONE_CYCLE.div;
      const final = initial / ONE_CYCLE.finalDiv;
      const warmupEnd = ONE_CYCLE.warmupShare * at.totalSteps - 1;
      const lastStep = at.totalSteps - 1;
      if (step <= warmupEnd) return warmupEnd <= 0 ? rate : annealCos(initial, rate, step / warmupEnd);
      return annealCos(rate, final, (step - warmupEnd) / (lastStep - warmupEnd));
    }
    default:
      throw new Error(`Unknown learning-rate schedule: ${kind}`);
  }
}

/** The rate each epoch starts with (for the chart and the run's metrics), epochs counted from 1. */
export function learningRateOfEpoch(schedule: LearningRateSchedule | undefined, rate: number, epoch: number, stepsPerEpoch: number, epochs: number): number {
  return learningRateAt(schedule, rate, { step: (epoch - 1) * stepsPerEpoch, stepsPerEpoch, totalSteps: epochs * stepsPerEpoch });
}
