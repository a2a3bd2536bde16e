/** Progress arithmetic for a training run, shared by the Train view's bar and its tests. */
import type { BatchProgress } from '../../../src-main/contract';

/** The fraction of the whole run done after a batch report (0…1). */
export function runFraction(batch: Pick<BatchProgress, 'epoch' | 'epochs' | 'batch' | 'batches'>): number {
  if (batch.epochs <= 0 || batch.batches <= 0) return 0;
  return Math.min(1, Math.max(0, (batch.epoch - 1 + batch.batch / batch.batches) / batch.epochs));
}
