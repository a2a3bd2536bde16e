/** How a run's facts read in the Models table, the Evaluate header and the Train view. */
import type { RunSummary } from '../../../src-main/contract';

/**
 * Epochs trained: "3/5" for a run trained here; for an import, the epochs it says it had
 * elsewhere, or '—' when it came without that (it was never trained here, so "0/0" would mislead).
 */
export function formatEpochs(run: Pick<RunSummary, 'origin' | 'epochsCompleted' | 'epochsPlanned'>): string {
  if (run.origin === 'imported') return run.epochsCompleted > 0 ? String(run.epochsCompleted) : '—';
  return `${run.epochsCompleted}/${run.epochsPlanned}`;
}

