/**
 * What the UI says about teaching a model with My photos (`training.teach`) and about the photos a
 * run trained on: how long an epoch of teaching roughly takes, and the short lineage phrases the
 * Models table, the Train view and Classify share.
 */
import type { TrainingConfig } from '../../../src-main/contract';
import { formatDuration } from './format';

/**
 * Seconds one teaching epoch took on all 60,000 images, measured on the wasm backend with 2 shared
 * cores (see TEACH_EPOCHS in core/training/service.ts). Other computers differ: a hint, not a promise.
 */
export const TEACH_EPOCH_SECONDS: Readonly<Record<string, number>> = {
  'tutorial-mlp': 4,
  cnn: 100,
  'photo-robust': 130,
};

/** Most epochs one teach takes (the contract's limit). */
export const TEACH_MAX_EPOCHS = 20;

/**
 * "Roughly 8 s on a 2-core computer": the measured time per epoch for the preset, scaled by the
 * images the parent trained on. Null for a model whose time was not measured (an import's preset).
 */
export function teachTimeHint(preset: string, epochs: number, config: Pick<TrainingConfig, 'trainLimit'> | null): string | null {
  const perEpoch = TEACH_EPOCH_SECONDS[preset];
  if (perEpoch === undefined || !Number.isInteger(epochs) || epochs < 1) return null;
  const images = config?.trainLimit ?? 60_000;
  const seconds = Math.max(1, perEpoch * (images / 60_000) * epochs);
  return `Roughly ${formatDuration(seconds)} on a 2-core computer (measured there; yours may be faster or slower).`;
}

/** The teach form's epochs as typed, or the message that says what to type. */
export function parseTeachEpochs(text: string): { epochs: number; error: null } | { epochs: null; error: string } {
  const trimmed = text.trim();
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(value)) return { epochs: null, error: 'Epochs must be a number.' };
  if (!Number.isInteger(value)) return { epochs: null, error: 'Epochs must be a whole number.' };
  if (value < 1) return { epochs: null, error: 'Epochs must be at least 1.' };
  if (value > TEACH_MAX_EPOCHS) return { epochs: null, error: `Teach for at most ${TEACH_MAX_EPOCHS} epochs; train a new model for more.` };
  return { epochs: value, error: null };
}

/** "1 of your photos", "23 of your photos". */
export function yourPhotos(count: number): string {
  return `${count.toLocaleString('en-US')} of your photos`;
}

/** What Classify says after "Answered by <run>": whether the model learnt from your photos. */
export function taughtPhrase(photoCount: number): string {
  return photoCount > 0 ? `taught with ${yourPhotos(photoCount)}` : 'not taught with your photos';
}
