/**
 * Which of Resume and Train more a run offers, and the Train more field, as plain functions
 * (tested without a DOM); the core checks the checkpoint itself when asked.
 */
import type { RunSummary } from '../../../src-main/contract';

/** The most epochs Train more adds at a time (the contract's limit). */
export const MORE_EPOCHS_MAX = 200;

/**
 * 'resume' for a run that stopped short of its plan (stopped, failed or interrupted), 'train-more'
 * for one that finished it (or that early stopping ended), null without a checkpoint or while training.
 */
export function resumeKind(run: Pick<RunSummary, 'status' | 'origin' | 'epochsCompleted' | 'epochsPlanned' | 'checkpointEpoch' | 'earlyStop'>): 'resume' | 'train-more' | null {
  if (run.origin !== 'trained' || run.checkpointEpoch === null || run.status === 'running' || run.status === 'evaluating') return null;
  if (run.status === 'completed' || run.earlyStop || run.checkpointEpoch >= run.epochsPlanned) return 'train-more';
  return 'resume';
}

export function parseMoreEpochs(text: string): { epochs: number; error: null } | { epochs: null; error: string } {
  const trimmed = text.trim();
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(value)) return { epochs: null, error: 'Type how many more epochs, like 2.' };
  if (!Number.isInteger(value)) return { epochs: null, error: 'Epochs are whole numbers.' };
  if (value < 1) return { epochs: null, error: 'Train at least 1 more epoch.' };
  if (value > MORE_EPOCHS_MAX) return { epochs: null, error: `Train at most ${MORE_EPOCHS_MAX} more epochs at a time.` };
  return { epochs: value, error: null };
}
