/**
 * Cross-validation of teaching with photos: an honest photo accuracy. Labelled photos are split into
 * K folds; each fold's model trains with the other folds' photos and is scored on the fold it never
 * saw, so every photo is scored exactly once, by a model that did not train on it. The photos go to
 * the training directly (`TrainingOverrides.photos`), never into the person's My photos.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PhotoBatch, TrainingConfig } from '../../contract';
import { AtelierError, toErrorInfo, type ErrorInfo } from '../errors';
import { mulberry32 } from '../random';
import { photoToInput } from '../photos/service';
import type { TrainingPhoto } from './photos';
import type { TrainingOverrides } from './service';

/**
 * Which fold (0 … k−1) holds out each item, stratified by group: within each group (a class
 * folder) the items are shuffled with the seed and dealt round-robin, and each group starts
 * dealing where the previous one stopped, so folds differ in size by at most one overall and in
 * each group. Items of one group keep their relative input order before shuffling, so the same
 * list and seed give the same folds.
 */
export function assignFolds(groups: readonly string[], k: number, seed: number): number[] {
  if (!Number.isInteger(k) || k < 2) throw new AtelierError('invalid-config', `Cross-validation needs at least 2 folds (one to hold out, one to train on), not ${k}.`);
  const random = mulberry32(seed);
  const byGroup = new Map<string, number[]>();
  groups.forEach((group, index) => {
    const members = byGroup.get(group) ?? [];
    members.push(index);
    byGroup.set(group, members);
  });
  const folds = new Array<number>(groups.length).fill(-1);
  let next = 0;
  for (const group of [...byGroup.keys()].sort()) {
    const members = byGroup.get(group)!;
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    for (const index of members) {
      folds[index] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}

/** A photo named for cross-validation: where it is, its folder, the class it trains as and the classes that count as right. */
export interface LabelledPhoto {
  readonly path: string;
  readonly folder: string;
  readonly label: number;
  readonly accepted: readonly number[];
}

/** A labelled photo read, hashed and preprocessed as Classify does. */
export interface PreparedPhoto extends LabelledPhoto {
  readonly sha256: string;
  readonly input: Uint8Array;
}

export interface PreparedPhotos {
  readonly photos: PreparedPhoto[];
  /** Photos that could not be decoded: neither trained on nor scored. */
  readonly unreadable: { path: string; error: ErrorInfo }[];
  /** A second copy of a photo already listed: it would be both trained on and scored. */
  readonly duplicates: { path: string; sameAs: string }[];
}

/** SHA-256 of a file's bytes, as My photos and run.json record it. */
export async function fileSha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Read, hash and preprocess each photo; keep the first of identical copies. */
export async function preparePhotos(photos: readonly LabelledPhoto[]): Promise<PreparedPhotos> {
  const prepared: PreparedPhoto[] = [];
  const unreadable: PreparedPhotos['unreadable'] = [];
  const duplicates: PreparedPhotos['duplicates'] = [];
  const firstPath = new Map<string, string>();
  for (const photo of photos) {
    try {
      const bytes = await readFile(photo.path);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const first = firstPath.get(sha256);
      if (first !== undefined) {
        duplicates.push({ path: photo.path, sameAs: first });
        continue;
      }
      firstPath.set(sha256, photo.path);
      const { steps } = await photoToInput({ name: photo.path, bytes });
      prepared.push({ ...photo, sha256, input: steps.final28 });
    } catch (error) {
      unreadable.push({ path: photo.path, error: toErrorInfo(error) });
    }
  }
  return { photos: prepared, unreadable, duplicates };
}

/** One held-out photo's answer from the model that did not train on it. */
export interface HeldOutPrediction {
  readonly path: string;
  readonly folder: string;
  readonly fold: number;
  /** Null when the photo could not be classified (counted as wrong). */
  readonly predicted: number | null;
  readonly confidence: number;
  readonly right: boolean;
}

export interface Tally {
  photos: number;
  right: number;
  accuracy: number;
}

function tally(predictions: readonly HeldOutPrediction[]): Tally {
  const right = predictions.filter((prediction) => prediction.right).length;
  return { photos: predictions.length, right, accuracy: predictions.length ? right / predictions.length : 0 };
}

/** Confidence buckets of the README's "Not sure" paragraph, so numbers compare with it. */
export const CONFIDENCE_EDGES = [0, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

export interface ConfidenceBucket extends Tally {
  readonly from: number;
  /** Exclusive, except the last bucket, which includes 1. */
  readonly to: number;
}

export function confidenceBuckets(predictions: readonly HeldOutPrediction[]): ConfidenceBucket[] {
  const answered = predictions.filter((prediction) => prediction.predicted !== null);
  const buckets: ConfidenceBucket[] = [];
  for (let i = 0; i + 1 < CONFIDENCE_EDGES.length; i++) {
    const from = CONFIDENCE_EDGES[i]!;
    const to = CONFIDENCE_EDGES[i + 1]!;
    const last = i + 2 === CONFIDENCE_EDGES.length;
    buckets.push({ from, to, ...tally(answered.filter((p) => p.confidence >= from && (p.confidence < to || (last && p.confidence <= to)))) });
  }
  return buckets;
}

/** How a "not sure" threshold splits the held-out answers. */
export interface ThresholdSplit {
  readonly threshold: number;
  /** Answers under the threshold (marked "not sure"). */
  readonly below: Tally;
  readonly atOrAbove: Tally;
}

export interface ThresholdChoice {
  /**
   * The upper edge of the most confident bucket (`CONFIDENCE_EDGES`) whose answers are right less
   * than half the time: just under it, an answer is a coin toss or worse. Buckets, not all answers
   * under a threshold: while most held-out answers are wrong, every threshold up to 1 would have a
   * majority of wrong answers under it and the rule would say nothing. Null when no bucket is that bad.
   */
  readonly coinToss: ThresholdSplit | null;
  /**
   * The threshold (in steps of 0.01) that best separates right from wrong answers: the largest share
   * of right answers at or above it minus the share of wrong ones there (Youden's J). Null without
   * both right and wrong answers.
   */
  readonly bestSeparation: (ThresholdSplit & { readonly separation: number }) | null;
}

function split(answered: readonly HeldOutPrediction[], threshold: number): ThresholdSplit {
  return {
    threshold,
    below: tally(answered.filter((p) => p.confidence < threshold)),
    atOrAbove: tally(answered.filter((p) => p.confidence >= threshold)),
  };
}

export function chooseThreshold(predictions: readonly HeldOutPrediction[]): ThresholdChoice {
  const answered = predictions.filter((prediction) => prediction.predicted !== null);
  const coinTossBucket = confidenceBuckets(answered).filter((bucket) => bucket.photos > 0 && bucket.right * 2 < bucket.photos).at(-1);
  const rights = answered.filter((p) => p.right).length;
  const wrongs = answered.length - rights;
  let bestSeparation: ThresholdChoice['bestSeparation'] = null;
  if (rights > 0 && wrongs > 0) {
    // Whole hundredths, computed from integers so 0.7 is 0.7 and not 0.7000000000000001.
    for (let hundredths = 1; hundredths <= 100; hundredths++) {
      const candidate = split(answered, hundredths / 100);
      const separation = candidate.atOrAbove.right / rights - (candidate.atOrAbove.photos - candidate.atOrAbove.right) / wrongs;
      if (!bestSeparation || separation > bestSeparation.separation) bestSeparation = { ...candidate, separation };
    }
  }
  return { coinToss: coinTossBucket ? split(answered, coinTossBucket.to) : null, bestSeparation };
}

/** Reading a run's record with its parent and photos (`RunStore` fits). */
export interface RunLineage {
  detail(runId: string): Promise<{ name: string; parentRunId: string | null; photos: readonly { sha256: string }[] }>;
}

/** The photos a model has trained on: its own run's and every ancestor's, since teaching starts from the parent's weights. */
export interface SeenPhotos {
  /** SHA-256 → the run (this one or an ancestor) that trained on it first found walking up. */
  readonly hashes: Map<string, string>;
  /** Ancestors no longer on disk: photos they trained on cannot be known. */
  readonly missingAncestors: string[];
}

export async function photosSeenBy(runs: RunLineage, runId: string): Promise<SeenPhotos> {
  const hashes = new Map<string, string>();
  const missingAncestors: string[] = [];
  const visited = new Set<string>();
  let current: string | null = runId;
  while (current !== null && !visited.has(current)) {
    visited.add(current);
    let run;
    try {
      run = await runs.detail(current);
    } catch (error) {
      // The run itself must exist (the caller names it); a deleted ancestor is reported, not fatal.
      if (current === runId) throw error;
      missingAncestors.push(current);
      break;
    }
    for (const photo of run.photos) if (!hashes.has(photo.sha256)) hashes.set(photo.sha256, current);
    current = run.parentRunId;
  }
  return { hashes, missingAncestors };
}

/** What cross-validation needs of the core; the Atelier's services fit it. */
export interface CrossValidationDeps {
  training: {
    start(config: TrainingConfig, overrides?: TrainingOverrides): Promise<{ runId: string }>;
    teach(request: { runId: string; epochs?: number; share?: number }, overrides?: TrainingOverrides): Promise<{ runId: string }>;
    settled(): Promise<void>;
  };
  runs: {
    detail(runId: string): Promise<{ name: string; status: string; error: string | null; testAccuracy: number | null; parentRunId: string | null; photos: readonly { sha256: string }[] }>;
    delete(runId: string): Promise<boolean>;
  };
  /** Classify photo files with a run's model, as Classify and photos-eval do. */
  classify(paths: readonly string[], runId: string): Promise<PhotoBatch>;
}

/** Train each fold's model from scratch with this config, or teach this run. */
export type CrossValidationBase = { readonly kind: 'preset'; readonly config: TrainingConfig } | { readonly kind: 'teach'; readonly runId: string; readonly epochs?: number };

export interface CrossValidationPlan {
  readonly photos: readonly PreparedPhoto[];
  readonly folds: number;
  readonly seed: number;
  readonly base: CrossValidationBase;
  readonly share: number;
  /** Keep each fold's run (named "CV i/k …") instead of deleting it once scored. */
  readonly keepRuns: boolean;
  /** What the person reads while it runs. */
  readonly onProgress?: (message: string) => void;
}

export interface FoldResult extends Tally {
  readonly fold: number;
  readonly trainingPhotos: number;
  readonly runId: string;
  readonly runName: string;
  /** Fashion-MNIST test accuracy of the fold's model. */
  readonly testAccuracy: number | null;
  readonly kept: boolean;
}

/**
 * The model without these photos, for the test accuracy the photos must not cost: the preset trained
 * with the same settings, or the base run taught the same epochs on Fashion-MNIST alone (the extra
 * epochs move the test accuracy too, by several points for a short-trained model).
 */
export interface CrossValidationBaseline {
  readonly runId: string;
  readonly runName: string;
  readonly testAccuracy: number | null;
  /** Teach only: the taught run's own test accuracy, before any further epoch. */
  readonly baseRunTestAccuracy: number | null;
  readonly kept: boolean;
}

export interface CrossValidationResult {
  readonly baseline: CrossValidationBaseline;
  /** Photos the base run (or an ancestor) trained on: left out, since they would be scored by a model that saw them. */
  readonly refused: { path: string; runId: string }[];
  /** Ancestors of the base run no longer on disk (their photos could not be left out). */
  readonly missingAncestors: string[];
  /** Mean of the folds' test accuracy minus the baseline's (null without both). */
  readonly testAccuracyChange: { mean: number; worst: number } | null;
  readonly folds: FoldResult[];
  readonly overall: Tally;
  readonly perFolder: (Tally & { folder: string })[];
  readonly predictions: HeldOutPrediction[];
  readonly buckets: ConfidenceBucket[];
  readonly threshold: ThresholdChoice;
}

async function finishedRun(deps: CrossValidationDeps, runId: string, keepRuns: boolean): Promise<{ name: string; testAccuracy: number | null }> {
  await deps.training.settled();
  const run = await deps.runs.detail(runId);
  // A run that did not finish measures nothing; its error is in the message below.
  if (run.status !== 'completed' && !keepRuns) await deps.runs.delete(runId);
  if (run.status === 'stopped') throw new AtelierError('cancelled', `${run.name} was stopped, so the cross-validation ends here without a result.`);
  if (run.status !== 'completed') throw new AtelierError('training-failed', `${run.name} did not finish (${run.status}${run.error ? `: ${run.error}` : ''}), so the cross-validation ends here. Fix what it says and run it again.`);
  return run;
}

/** The photos as the training takes them; the id says they came from a cross-validation, not My photos. */
function asTrainingPhotos(photos: readonly PreparedPhoto[]): TrainingPhoto[] {
  // Sorted by content like My photos, so a fold's training does not depend on folder order.
  return [...photos].sort((a, b) => a.sha256.localeCompare(b.sha256)).map((photo) => ({ id: `cv-${photo.sha256.slice(0, 12)}`, sha256: photo.sha256, label: photo.label, input: photo.input }));
}

/** The base run as it is (teach), or the preset trained once without photos with the same settings. */
async function measureBaseline(deps: CrossValidationDeps, plan: CrossValidationPlan): Promise<CrossValidationBaseline> {
  const { base } = plan;
  const name = `CV base seed ${plan.seed} · ${base.kind === 'preset' ? base.config.preset : 'taught'} without photos`;
  plan.onProgress?.(base.kind === 'preset' ? 'Baseline: training the preset once without photos, for its test accuracy…' : 'Baseline: teaching the run the same epochs without photos, for its test accuracy…');
  const { runId } =
    base.kind === 'preset'
      ? await deps.training.start({ ...base.config, myPhotos: null }, { name })
      : await deps.training.teach({ runId: base.runId, ...(base.epochs === undefined ? {} : { epochs: base.epochs }) }, { name, withoutPhotos: true });
  const run = await finishedRun(deps, runId, plan.keepRuns);
  if (!plan.keepRuns) await deps.runs.delete(runId);
  const baseRunTestAccuracy = base.kind === 'teach' ? (await deps.runs.detail(base.runId)).testAccuracy : null;
  plan.onProgress?.(`Baseline: test accuracy ${run.testAccuracy === null ? '—' : `${(run.testAccuracy * 100).toFixed(2)}%`}.`);
  return { runId, runName: run.name, testAccuracy: run.testAccuracy, baseRunTestAccuracy, kept: plan.keepRuns };
}

/** Train K models, each without one fold's photos, and score each photo with the model that did not see it. */
export async function crossValidate(deps: CrossValidationDeps, plan: CrossValidationPlan): Promise<CrossValidationResult> {
  const { folds: k } = plan;
  const seen = plan.base.kind === 'teach' ? await photosSeenBy(deps.runs, plan.base.runId) : { hashes: new Map<string, string>(), missingAncestors: [] };
  const refused = plan.photos.filter((photo) => seen.hashes.has(photo.sha256)).map((photo) => ({ path: photo.path, runId: seen.hashes.get(photo.sha256)! }));
  const photos = plan.photos.filter((photo) => !seen.hashes.has(photo.sha256));
  if (photos.length < k) {
    throw new AtelierError('invalid-config', `${k} folds need at least ${k} usable photos, and there are ${photos.length}. Use fewer folds (--cv) or more photos.`);
  }
  const foldOf = assignFolds(photos.map((photo) => photo.folder), k, plan.seed);
  const baseline = await measureBaseline(deps, plan);
  const predictions: HeldOutPrediction[] = [];
  const results: FoldResult[] = [];
  for (let fold = 0; fold < k; fold++) {
    const heldOut = photos.filter((_, index) => foldOf[index] === fold);
    const training = asTrainingPhotos(photos.filter((_, index) => foldOf[index] !== fold));
    const name = `CV ${fold + 1}/${k} seed ${plan.seed} · ${plan.base.kind === 'preset' ? plan.base.config.preset : 'taught'}`;
    const overrides: TrainingOverrides = { photos: training, name };
    plan.onProgress?.(`Fold ${fold + 1}/${k}: training with ${training.length} photos, ${heldOut.length} held out…`);
    const { runId } =
      plan.base.kind === 'preset'
        ? await deps.training.start({ ...plan.base.config, myPhotos: { share: plan.share } }, overrides)
        : await deps.training.teach({ runId: plan.base.runId, share: plan.share, ...(plan.base.epochs === undefined ? {} : { epochs: plan.base.epochs }) }, overrides);
    const run = await finishedRun(deps, runId, plan.keepRuns);
    const batch = await deps.classify(heldOut.map((photo) => photo.path), runId);
    const byPath = new Map(batch.results.map((result) => [result.path, result]));
    const foldPredictions = heldOut.map((photo): HeldOutPrediction => {
      const result = byPath.get(photo.path);
      if (!result?.ok) return { path: photo.path, folder: photo.folder, fold, predicted: null, confidence: 0, right: false };
      return { path: photo.path, folder: photo.folder, fold, predicted: result.classIndex, confidence: result.confidence, right: photo.accepted.includes(result.classIndex) };
    });
    predictions.push(...foldPredictions);
    if (!plan.keepRuns) await deps.runs.delete(runId);
    const result: FoldResult = { fold: fold + 1, trainingPhotos: training.length, runId, runName: run.name, testAccuracy: run.testAccuracy, kept: plan.keepRuns, ...tally(foldPredictions) };
    results.push(result);
    plan.onProgress?.(`Fold ${fold + 1}/${k}: ${result.right}/${result.photos} held-out photos right, test accuracy ${run.testAccuracy === null ? '—' : `${(run.testAccuracy * 100).toFixed(2)}%`}.`);
  }
  const folders = [...new Set(photos.map((photo) => photo.folder))];
  const changes = results.flatMap((fold) => (fold.testAccuracy === null || baseline.testAccuracy === null ? [] : [fold.testAccuracy - baseline.testAccuracy]));
  return {
    baseline,
    refused,
    missingAncestors: seen.missingAncestors,
    testAccuracyChange: changes.length === results.length && changes.length > 0 ? { mean: changes.reduce((a, b) => a + b, 0) / changes.length, worst: Math.min(...changes) } : null,
    folds: results,
    overall: tally(predictions),
    perFolder: folders.map((folder) => ({ folder, ...tally(predictions.filter((p) => p.folder === folder)) })),
    predictions,
    buckets: confidenceBuckets(predictions),
    threshold: chooseThreshold(predictions),
  };
}
