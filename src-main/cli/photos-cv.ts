/**
 * `atelier photos-eval DIR --cv K`: the honest photo accuracy of teaching with photos. Each fold's
 * model trains with the other folds' photos and is scored on the fold it never saw
 * (core/training/cross-validation.ts). The photos reach each training directly, not through My
 * photos: a measurement must not change the person's collection. That override is not part of the
 * contract (no UI sends photos to a training), so the training is started on the core's service
 * here; runs, evaluation and classification still go through the dispatcher.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Atelier } from '../app';
import { calls, DEFAULT_PHOTO_SHARE, TrainingConfigSchema, type TrainingConfig } from '../contract';
import { AtelierError } from '../core/errors';
import { CLASS_NAMES } from '../core/fashion-mnist';
import { collectPhotoPaths } from '../core/photos/decode';
import { NOT_SURE } from '../core/photos/service';
import { crossValidate, preparePhotos, type CrossValidationBase, type CrossValidationResult, type LabelledPhoto, type PreparedPhotos } from '../core/training/cross-validation';
import { TEACH_EPOCHS } from '../core/training/service';
import type { CliIo } from './commands';
import { ACCEPTED_LABELS, classFolders, classifyAll, CROSS_VALIDATION_OPTIONS, TRAINING_LABELS } from './photos';
import { withAtelier, type CliDeps } from './session';

export const PHOTOS_CV_HELP_LINES = `  photos-eval DIR --cv K [--preset P | --teach ID|latest] [--epochs N] [--photo-share S]
              [--seed N] [--limit N] [--keep-runs] [--json]
                               Cross-validate teaching with photos: split DIR's photos into K folds (seeded,
                               stratified by folder); per fold, train a model with the other folds' photos
                               (from scratch with --preset, default tutorial-mlp, or by teaching a run with
                               --teach) and score the held-out fold. Prints top-1 overall, per folder and
                               per fold, each fold model's test accuracy against the model without photos,
                               and accuracy by confidence with the "not sure" threshold it suggests.
                               The photos never enter My photos; the fold runs are deleted unless --keep-runs`;

/** True when `photos-eval` was asked to cross-validate. */
export function wantsCrossValidation(args: readonly string[]): boolean {
  return args.some((arg) => arg === '--cv' || arg.startsWith('--cv='));
}

const percent = (value: number | null): string => (value === null ? '—' : `${(value * 100).toFixed(1)}%`);
const points = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(2)}`;

function wholeNumber(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed) || parsed < min) throw new AtelierError('invalid-config', `--${name} must be a whole number of at least ${min}, not "${value}".`);
  return parsed;
}

function decimal(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new AtelierError('invalid-config', `--${name} must be a number, not "${value}".`);
  return parsed;
}

/** DIR's photos labelled by folder; folders without a training label are skipped with a message. */
async function labelledPhotos(dirArg: string): Promise<{ dir: string; photos: LabelledPhoto[]; skipped: string[] }> {
  const { dir, folders, skipped } = await classFolders(dirArg, TRAINING_LABELS);
  const photos: LabelledPhoto[] = [];
  for (const folder of folders) {
    // An empty folder simply adds no photos; the split is over the photos there are.
    const { files } = await collectPhotoPaths([join(dir, folder)]);
    for (const path of [...files].sort()) photos.push({ path, folder, label: TRAINING_LABELS[folder]!, accepted: ACCEPTED_LABELS[folder] ?? [] });
  }
  return { dir, photos, skipped };
}

export interface CrossValidationReport {
  dir: string;
  folds: number;
  seed: number;
  share: number;
  base: { kind: 'preset'; config: TrainingConfig } | { kind: 'teach'; runId: string; epochs: number };
  skippedFolders: string[];
  unreadable: PreparedPhotos['unreadable'];
  duplicates: PreparedPhotos['duplicates'];
  result: CrossValidationResult;
  /** The "not sure" threshold in use, for comparison with the one the held-out answers suggest. */
  notSureThreshold: number;
}

export function formatCrossValidation(report: CrossValidationReport): string {
  const { result } = report;
  const base = report.base.kind === 'preset'
    ? `${report.base.config.preset} trained from scratch (${report.base.config.epochs} epoch${report.base.config.epochs === 1 ? '' : 's'}, ${report.base.config.trainLimit ?? 60_000} images, seed ${report.base.config.seed})`
    : `${result.baseline.runName} (${report.base.runId}) taught for ${report.base.epochs} epoch${report.base.epochs === 1 ? '' : 's'}`;
  const lines = [
    `Cross-validation on ${report.dir}: ${report.folds} folds (seed ${report.seed}), ${result.overall.photos} photos; each fold's model is ${base} with the other folds' photos at share ${report.share}.`,
  ];
  const leftOut = [
    result.refused.length ? `${result.refused.length} refused (the base run trained on them)` : '',
    report.duplicates.length ? `${report.duplicates.length} duplicate${report.duplicates.length === 1 ? '' : 's'}` : '',
    report.unreadable.length ? `${report.unreadable.length} unreadable` : '',
  ].filter(Boolean);
  if (leftOut.length) lines.push(`Left out: ${leftOut.join(', ')}.`);
  lines.push('', `  ${'fold'.padStart(4)} ${'trained on'.padStart(10)} ${'held out'.padStart(8)} ${'right'.padStart(5)} ${'accuracy'.padStart(8)} ${'test acc'.padStart(8)}  run`);
  for (const fold of result.folds) {
    lines.push(
      `  ${String(fold.fold).padStart(4)} ${String(fold.trainingPhotos).padStart(10)} ${String(fold.photos).padStart(8)} ${String(fold.right).padStart(5)} ${percent(fold.accuracy).padStart(8)} ${(fold.testAccuracy === null ? '—' : `${(fold.testAccuracy * 100).toFixed(2)}%`).padStart(8)}  ${fold.runName}${fold.kept ? ` (${fold.runId})` : ', deleted'}`,
    );
  }
  lines.push('', `  ${'folder'.padEnd(11)} ${'photos'.padStart(6)} ${'right'.padStart(6)} ${'accuracy'.padStart(8)}  accepted`);
  for (const folder of result.perFolder) {
    lines.push(`  ${folder.folder.padEnd(11)} ${String(folder.photos).padStart(6)} ${String(folder.right).padStart(6)} ${percent(folder.accuracy).padStart(8)}  ${(ACCEPTED_LABELS[folder.folder] ?? []).map((label) => CLASS_NAMES[label]).join(', ')}`);
  }
  const balanced = result.perFolder.length ? result.perFolder.reduce((sum, folder) => sum + folder.accuracy, 0) / result.perFolder.length : 0;
  lines.push(`  ${'all'.padEnd(11)} ${String(result.overall.photos).padStart(6)} ${String(result.overall.right).padStart(6)} ${percent(result.overall.accuracy).padStart(8)}  (mean of folders ${percent(balanced)}; every photo scored once, by the model that did not train on it)`);

  const { baseline, testAccuracyChange } = result;
  lines.push('');
  const baseWhat = `${report.base.kind === 'preset' ? 'the same settings without photos' : 'the run taught the same epochs without photos'}${baseline.kept ? ` (${baseline.runId})` : ', run deleted'}`;
  if (testAccuracyChange && baseline.testAccuracy !== null) {
    // The verdict is on the mean: one fold model differs from the baseline by its photos and by chance (a point or so on small trainings).
    const verdict = testAccuracyChange.mean >= -0.01 ? 'within the one-point limit' : 'MORE than the one-point limit';
    lines.push(
      `Fashion-MNIST test accuracy: ${(baseline.testAccuracy * 100).toFixed(2)}% for ${baseWhat}; fold models ${points(testAccuracyChange.mean)} points on average (${verdict}), the worst fold ${points(testAccuracyChange.worst)}.`,
    );
  } else {
    lines.push(`Fashion-MNIST test accuracy of ${baseWhat}: ${percent(baseline.testAccuracy)} (no comparison: a model has no test accuracy).`);
  }
  if (baseline.baseRunTestAccuracy !== null) lines.push(`(The run taught had ${(baseline.baseRunTestAccuracy * 100).toFixed(2)}% before any further epoch.)`);

  lines.push('', 'Held-out answers by confidence (top probability):');
  for (const bucket of result.buckets) {
    const range = bucket.from === 0 ? `under ${bucket.to.toFixed(1)}` : bucket.to === 1 ? `${bucket.from.toFixed(1)} and up` : `${bucket.from.toFixed(1)}–${bucket.to.toFixed(1)}`;
    lines.push(`  ${range.padEnd(12)} ${String(bucket.photos).padStart(5)} answers ${bucket.photos ? percent(bucket.accuracy).padStart(7) : '      —'} right`);
  }
  const { coinToss, bestSeparation } = result.threshold;
  lines.push('');
  lines.push(
    coinToss
      ? `Suggested "not sure" threshold: ${coinToss.threshold.toFixed(2)}, the top of the most confident bucket whose held-out answers are right less than half the time (${coinToss.below.photos} answers under it, ${percent(coinToss.below.accuracy)} right; ${coinToss.atOrAbove.photos} at or above, ${percent(coinToss.atOrAbove.photos ? coinToss.atOrAbove.accuracy : null)} right).`
      : 'Suggested "not sure" threshold: none — every confidence bucket is right at least half the time.',
  );
  if (bestSeparation) {
    lines.push(
      `Best separation of right from wrong: ${bestSeparation.threshold.toFixed(2)} (keeps ${percent(bestSeparation.atOrAbove.photos ? bestSeparation.atOrAbove.right / Math.max(1, result.predictions.filter((p) => p.right).length) : 0)} of the right answers sure, ${bestSeparation.atOrAbove.photos} answers at or above it ${percent(bestSeparation.atOrAbove.photos ? bestSeparation.atOrAbove.accuracy : null)} right; below it ${bestSeparation.below.photos} answers ${percent(bestSeparation.below.photos ? bestSeparation.below.accuracy : null)} right).`,
    );
  }
  lines.push(`The threshold in use (NOT_SURE) is ${report.notSureThreshold}.`);
  if (report.skippedFolders.length) lines.push('', `Skipped folders (no training label): ${report.skippedFolders.join(', ')}. Known: ${Object.keys(TRAINING_LABELS).join(', ')}.`);
  for (const photo of result.refused) lines.push(`  − ${photo.path}: the base run (or one it was taught from, ${photo.runId}) trained on it`);
  for (const photo of report.duplicates) lines.push(`  − ${photo.path}: the same photo as ${photo.sameAs}`);
  for (const photo of report.unreadable) lines.push(`  ✗ ${photo.path}: ${photo.error.kind} — ${photo.error.message}`);
  for (const runId of result.missingAncestors) lines.push('', `Warning: the base run was taught from run ${runId}, which is no longer on disk, so photos that run trained on could not be left out.`);
  return lines.join('\n');
}

type CrossValidationValues = { cv?: string; json?: boolean; run?: string; naive?: boolean } & { [K in keyof typeof CROSS_VALIDATION_OPTIONS]?: (typeof CROSS_VALIDATION_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** The contract's own checks, since the trainings start on the service (see the top of this file). */
function checked<T>(result: { success: true; data: T } | { success: false; error: { issues: readonly { message: string }[] } }): T {
  if (!result.success) throw new AtelierError('invalid-config', result.error.issues.map((issue) => issue.message).join(' '));
  return result.data;
}

async function basePlan(deps: CliDeps, atelier: Atelier, values: CrossValidationValues, seed: number | undefined, share: number): Promise<CrossValidationReport['base']> {
  const epochs = wholeNumber('epochs', values.epochs, 1);
  if (values.teach !== undefined) {
    if (values.limit !== undefined) throw new AtelierError('invalid-config', '--limit sets how many Fashion-MNIST images a new model trains on; a taught run keeps its parent\'s. Leave out --limit, or use --preset.');
    if (values.seed !== undefined) throw new AtelierError('invalid-config', '--seed with --teach would only move the folds: a taught run trains with its parent\'s seed. Leave out --seed, or use --preset.');
    const runId = await deps.resolveRun(atelier, values.teach);
    const request = checked(calls['training.teach'].input.safeParse({ runId, epochs: epochs ?? TEACH_EPOCHS, share }));
    return { kind: 'teach', runId, epochs: request.epochs ?? TEACH_EPOCHS };
  }
  const presetId = values.preset ?? 'tutorial-mlp';
  const presets = await deps.call(atelier, 'training.presets', {});
  const preset = presets.find((candidate) => candidate.id === presetId);
  if (!preset) throw new AtelierError('invalid-config', `Unknown preset "${presetId}". Choose one of: ${presets.map((p) => p.id).join(', ')}.`);
  const limit = wholeNumber('limit', values.limit, 1);
  const config = checked(
    TrainingConfigSchema.safeParse({
      ...preset.defaults,
      ...(epochs === undefined ? {} : { epochs }),
      ...(seed === undefined ? {} : { seed }),
      ...(limit === undefined ? {} : { trainLimit: limit }),
      myPhotos: { share },
    }),
  );
  return { kind: 'preset', config: { ...config, myPhotos: null } };
}

export async function commandPhotosCrossValidation(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { cv: { type: 'string' }, json: { type: 'boolean', default: false }, run: { type: 'string' }, naive: { type: 'boolean' }, ...CROSS_VALIDATION_OPTIONS },
    allowPositionals: true,
    strict: true,
  });
  const [dirArg, ...extra] = positionals;
  if (!dirArg || extra.length) throw new AtelierError('invalid-payload', 'Name one folder of class folders: atelier photos-eval DIR --cv K.');
  if (values.run !== undefined) throw new AtelierError('invalid-config', '--cv trains its own models, so it scores no --run. To start each fold from a trained run, use --teach ID.');
  if (values.naive) throw new AtelierError('invalid-config', '--naive scores one run with plain resizing; cross-validation trains on photos as Classify prepares them. Leave out --naive.');
  if (values.preset !== undefined && values.teach !== undefined) throw new AtelierError('invalid-config', 'Choose one: --preset P trains each fold from scratch, --teach ID teaches a trained run.');
  const folds = wholeNumber('cv', values.cv, 2)!;
  const seed = wholeNumber('seed', values.seed, 0);
  const share = decimal('photo-share', values['photo-share']) ?? DEFAULT_PHOTO_SHARE;
  const { dir, photos, skipped } = await labelledPhotos(dirArg);
  return withAtelier(deps, async (atelier) => {
    const base = await basePlan(deps, atelier, values, seed, share);
    const foldSeed = seed ?? (base.kind === 'preset' ? base.config.seed : 42);
    const prepared = await preparePhotos(photos);
    const crossValidationBase: CrossValidationBase = base.kind === 'preset' ? base : { kind: 'teach', runId: base.runId, epochs: base.epochs };
    const stopOnSignal = (): void => {
      atelier.training.stop();
    };
    process.once('SIGINT', stopOnSignal);
    let result: CrossValidationResult;
    try {
      result = await crossValidate(
        {
          training: atelier.training,
          runs: {
            detail: (runId) => deps.call(atelier, 'runs.get', { runId }),
            delete: async (runId) => (await deps.call(atelier, 'runs.delete', { runId })).deleted,
          },
          classify: (paths, runId) => classifyAll(deps, atelier, [...paths], runId, 'atelier'),
        },
        {
          photos: prepared.photos,
          folds,
          seed: foldSeed,
          base: crossValidationBase,
          share,
          keepRuns: values['keep-runs'] ?? false,
          onProgress: (message) => (values.json ? undefined : io.err(message)),
        },
      );
    } finally {
      process.removeListener('SIGINT', stopOnSignal);
    }
    const report: CrossValidationReport = {
      dir, folds, seed: foldSeed, share, base, skippedFolders: skipped, unreadable: prepared.unreadable, duplicates: prepared.duplicates, result, notSureThreshold: NOT_SURE.minConfidence,
    };
    io.out(values.json ? JSON.stringify(report) : formatCrossValidation(report));
    return 0;
  });
}
