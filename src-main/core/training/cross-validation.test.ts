/**
 * Cross-validation without the engine: the fold split as properties (fast-check), the fold loop
 * with recording fakes (which photos each fold trained on, which it was scored on), the confidence
 * buckets and the threshold, and the walk up a taught run's ancestors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PhotoBatch, PhotoResult, TrainingConfig } from '../../contract';
import { AtelierError } from '../errors';
import { assignFolds, chooseThreshold, confidenceBuckets, crossValidate, photosSeenBy, type CrossValidationDeps, type HeldOutPrediction, type PreparedPhoto } from './cross-validation';
import type { TrainingPhoto } from './photos';
import type { TrainingOverrides } from './service';

const groupsArbitrary = fc.array(fc.constantFrom('t-shirt', 'pants', 'dress', 'shoes', 'shirt'), { minLength: 2, maxLength: 120 });

describe('assignFolds', () => {
  it('holds every item out exactly once, in folds whose sizes differ by at most one, overall and within each group', () => {
    fc.assert(
      fc.property(groupsArbitrary, fc.integer({ min: 2, max: 10 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (groups, k, seed) => {
        const folds = assignFolds(groups, k, seed);
        expect(folds).toHaveLength(groups.length);
        for (const fold of folds) expect(Number.isInteger(fold) && fold >= 0 && fold < k).toBe(true);
        const sizes = (members: number[]): number[] => Array.from({ length: k }, (_, fold) => members.filter((f) => f === fold).length);
        const overall = sizes(folds);
        expect(Math.max(...overall) - Math.min(...overall)).toBeLessThanOrEqual(1);
        for (const group of new Set(groups)) {
          const inGroup = sizes(folds.filter((_, index) => groups[index] === group));
          expect(Math.max(...inGroup) - Math.min(...inGroup), group).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('repeats for the same seed and moves photos for another', () => {
    fc.assert(
      fc.property(groupsArbitrary, fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 1e6 }), (groups, k, seed) => {
        expect(assignFolds(groups, k, seed)).toEqual(assignFolds([...groups], k, seed));
      }),
    );
    const groups = Array.from({ length: 60 }, (_, i) => ['a', 'b', 'c'][i % 3]!);
    expect(assignFolds(groups, 5, 1)).not.toEqual(assignFolds(groups, 5, 2));
  });

  it('refuses fewer than two folds with a message that says why', () => {
    for (const k of [0, 1, 2.5]) {
      expect(() => assignFolds(['a', 'b'], k, 1)).toThrow(AtelierError);
      expect(() => assignFolds(['a', 'b'], k, 1)).toThrow(/at least 2 folds/);
    }
  });
});

/** Photos with distinct contents; their "input" bytes carry the index so a training can be checked. */
function fakePhotos(groups: readonly string[]): PreparedPhoto[] {
  return groups.map((folder, index) => ({
    path: `/photos/${folder}/${index}.jpg`,
    folder,
    label: folder === 'pants' ? 1 : 0,
    accepted: folder === 'pants' ? [1] : [0],
    sha256: index.toString(16).padStart(64, '0'),
    input: new Uint8Array(784).fill(index % 256),
  }));
}

const config: TrainingConfig = { preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 8, validationSplit: 0, seed: 1, trainLimit: 100, myPhotos: null };

/** Deps that record every training and classification; the "model" answers class 0 with a confidence from the photo's number. */
function recordingDeps(options: { lineage?: Record<string, { parentRunId: string | null; photos: { sha256: string }[] }> } = {}) {
  const trainings: { runId: string; config?: TrainingConfig; teach?: { runId: string; epochs?: number; share?: number }; overrides: TrainingOverrides }[] = [];
  const classified: { runId: string; paths: string[] }[] = [];
  const deleted: string[] = [];
  let next = 0;
  const deps: CrossValidationDeps = {
    training: {
      start: async (trainingConfig, overrides = {}) => {
        const runId = `run-${next++}`;
        trainings.push({ runId, config: trainingConfig, overrides });
        return { runId };
      },
      teach: async (request, overrides = {}) => {
        const runId = `run-${next++}`;
        trainings.push({ runId, teach: request, overrides });
        return { runId };
      },
      settled: async () => undefined,
    },
    runs: {
      detail: async (runId) => {
        const stored = options.lineage?.[runId];
        if (options.lineage && !stored && !runId.startsWith('run-')) throw new AtelierError('not-found', `There is no run "${runId}".`);
        return { name: `name of ${runId}`, status: 'completed', error: null, testAccuracy: runId.startsWith('run-') ? 0.8 : 0.81, parentRunId: stored?.parentRunId ?? null, photos: stored?.photos ?? [] };
      },
      delete: async (runId) => {
        deleted.push(runId);
        return true;
      },
    },
    classify: async (paths, runId): Promise<PhotoBatch> => {
      classified.push({ runId, paths: [...paths] });
      const results: PhotoResult[] = paths.map((path) => {
        const number = Number(/(\d+)\.jpg$/.exec(path)![1]);
        const confidence = (number % 10) / 10 + 0.05;
        return { ok: true, name: path, path, classIndex: 0, className: 'T-shirt/top', confidence, probabilities: [], notSure: confidence < 0.7, foundGarment: true, notes: [], steps: null, runId };
      });
      return { run: { id: runId, name: runId, preset: 'tutorial-mlp', testAccuracy: 0.8 }, preprocessing: 'atelier', classNames: [], results } as unknown as PhotoBatch;
    },
  };
  return { deps, trainings, classified, deleted };
}

describe('crossValidate (recording fakes)', () => {
  it('never trains a fold on a photo it scores, scores every photo exactly once, and keeps the photos out of My photos', async () => {
    await fc.assert(
      fc.asyncProperty(groupsArbitrary, fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 1e6 }), async (groups, k, seed) => {
        fc.pre(groups.length >= k);
        const photos = fakePhotos(groups);
        const { deps, trainings, classified } = recordingDeps();
        const result = await crossValidate(deps, { photos, folds: k, seed, base: { kind: 'preset', config }, share: 0.2, keepRuns: false });
        // The baseline trains without photos; then one training per fold, each with an explicit photo set.
        expect(trainings[0]!.config!.myPhotos).toBeNull();
        expect(trainings[0]!.overrides.photos).toBeUndefined();
        const foldTrainings = trainings.slice(1);
        expect(foldTrainings).toHaveLength(k);
        const scoredTimes = new Map<string, number>();
        for (const [fold, training] of foldTrainings.entries()) {
          expect(training.config!.myPhotos).toEqual({ share: 0.2 });
          const trainedOn = new Set((training.overrides.photos as TrainingPhoto[]).map((photo) => photo.sha256));
          const scored = classified[fold]!;
          expect(scored.runId).toBe(training.runId);
          for (const path of scored.paths) {
            const photo = photos.find((candidate) => candidate.path === path)!;
            expect(trainedOn.has(photo.sha256), `${path} trained fold ${fold + 1} and was scored by it`).toBe(false);
            scoredTimes.set(path, (scoredTimes.get(path) ?? 0) + 1);
          }
          // Everything not held out trains the fold: no photo is wasted.
          expect(trainedOn.size + scored.paths.length).toBe(photos.length);
        }
        expect([...scoredTimes.keys()].sort()).toEqual(photos.map((photo) => photo.path).sort());
        expect([...scoredTimes.values()].every((times) => times === 1)).toBe(true);
        expect(result.overall.photos).toBe(photos.length);
        expect(result.predictions).toHaveLength(photos.length);
      }),
      { numRuns: 60 },
    );
  });

  it('deletes the fold and baseline runs unless asked to keep them, names them by the CV, and compares test accuracy with the baseline', async () => {
    const photos = fakePhotos(['pants', 'pants', 'dress', 'dress', 'shoes', 'shoes']);
    const dropped = recordingDeps();
    const result = await crossValidate(dropped.deps, { photos, folds: 3, seed: 4, base: { kind: 'preset', config }, share: 0.1, keepRuns: false });
    expect(dropped.deleted.sort()).toEqual(['run-0', 'run-1', 'run-2', 'run-3']);
    expect(dropped.trainings.map((training) => training.overrides.name)).toEqual(['CV base seed 4 · tutorial-mlp without photos', 'CV 1/3 seed 4 · tutorial-mlp', 'CV 2/3 seed 4 · tutorial-mlp', 'CV 3/3 seed 4 · tutorial-mlp']);
    expect(result.baseline).toMatchObject({ runId: 'run-0', kept: false, testAccuracy: 0.8, baseRunTestAccuracy: null });
    expect(result.testAccuracyChange).toEqual({ mean: 0, worst: 0 });
    expect(result.perFolder.map((folder) => [folder.folder, folder.photos, folder.right])).toEqual([['pants', 2, 0], ['dress', 2, 2], ['shoes', 2, 2]]);

    const kept = recordingDeps();
    await crossValidate(kept.deps, { photos, folds: 2, seed: 4, base: { kind: 'preset', config }, share: 0.1, keepRuns: true });
    expect(kept.deleted).toEqual([]);
  });

  it('teaching: refuses photos the base run or its ancestors trained on, and compares with the base run as it is', async () => {
    const photos = fakePhotos(['pants', 'pants', 'pants', 'dress', 'dress', 'dress']);
    const { deps, trainings } = recordingDeps({
      lineage: {
        taught: { parentRunId: 'first', photos: [{ sha256: photos[0]!.sha256 }] },
        first: { parentRunId: 'gone', photos: [{ sha256: photos[3]!.sha256 }] },
      },
    });
    const result = await crossValidate(deps, { photos, folds: 2, seed: 1, base: { kind: 'teach', runId: 'taught', epochs: 1 }, share: 0.1, keepRuns: false });
    expect(result.refused).toEqual([
      { path: photos[0]!.path, runId: 'taught' },
      { path: photos[3]!.path, runId: 'first' },
    ]);
    expect(result.missingAncestors).toEqual(['gone']);
    expect(result.overall.photos).toBe(4);
    // The baseline teaches the same epochs without photos; then one teaching per fold with its photos.
    expect(trainings).toHaveLength(3);
    expect(trainings[0]).toMatchObject({ teach: { runId: 'taught', epochs: 1 }, overrides: { withoutPhotos: true } });
    expect(trainings[0]!.overrides.photos).toBeUndefined();
    for (const training of trainings.slice(1)) {
      expect(training.teach).toEqual({ runId: 'taught', share: 0.1, epochs: 1 });
      expect(training.overrides.withoutPhotos).toBeUndefined();
      for (const photo of training.overrides.photos!) expect([photos[0]!.sha256, photos[3]!.sha256]).not.toContain(photo.sha256);
    }
    expect(result.baseline).toMatchObject({ runId: 'run-0', testAccuracy: 0.8, baseRunTestAccuracy: 0.81 });
    expect(result.testAccuracyChange).toEqual({ mean: 0, worst: 0 });
  });

  it('ends with a cancelled error when a fold is stopped, and removes that run', async () => {
    const { deps, deleted } = recordingDeps();
    const detail = deps.runs.detail;
    deps.runs.detail = async (runId) => ({ ...(await detail(runId)), status: runId === 'run-1' ? 'stopped' : 'completed' });
    await expect(crossValidate(deps, { photos: fakePhotos(['a', 'a', 'b', 'b']), folds: 2, seed: 1, base: { kind: 'preset', config }, share: 0.1, keepRuns: false })).rejects.toMatchObject({ kind: 'cancelled' });
    expect(deleted).toContain('run-1');
  });

  it('refuses more folds than photos', async () => {
    const { deps } = recordingDeps();
    await expect(crossValidate(deps, { photos: fakePhotos(['a', 'b']), folds: 3, seed: 1, base: { kind: 'preset', config }, share: 0.1, keepRuns: false })).rejects.toThrow(/3 folds need at least 3 usable photos/);
  });
});

const prediction = (confidence: number, right: boolean): HeldOutPrediction => ({ path: 'p', folder: 'f', fold: 0, predicted: 0, confidence, right });

describe('confidence buckets and the "not sure" threshold', () => {
  const predictions = [
    prediction(0.3, false), prediction(0.45, false), prediction(0.45, true), // under 0.5: 1/3
    prediction(0.55, true), prediction(0.58, false), // 0.5–0.6: 1/2
    prediction(0.65, true), prediction(0.68, true), // 0.6–0.7: 2/2
    prediction(0.95, true), prediction(1, true), // 0.9 and up, 1 included
    { path: 'x', folder: 'f', fold: 0, predicted: null, confidence: 0, right: false }, // unreadable: no confidence
  ];

  it('counts answers per bucket, the top one including 1, unreadable photos in none', () => {
    expect(confidenceBuckets(predictions).map((bucket) => [bucket.from, bucket.to, bucket.photos, bucket.right])).toEqual([
      [0, 0.5, 3, 1], [0.5, 0.6, 2, 1], [0.6, 0.7, 2, 2], [0.7, 0.8, 0, 0], [0.8, 0.9, 0, 0], [0.9, 1, 2, 2],
    ]);
  });

  it('picks the top of the most confident bucket right less than half the time, and the best separation', () => {
    const { coinToss, bestSeparation } = chooseThreshold(predictions);
    // Under 0.5: 1 of 3, a coin toss or worse; 0.5–0.6: 1 of 2, exactly half, not less.
    expect(coinToss).toMatchObject({ threshold: 0.5, below: { photos: 3, right: 1 }, atOrAbove: { photos: 6, right: 5 } });
    // From 0.59 every wrong answer is below and 4 of the 6 right ones at or above: 4/6 − 0, the best (the first such wins).
    expect(bestSeparation).toMatchObject({ threshold: 0.59, atOrAbove: { photos: 4, right: 4 } });
    expect(bestSeparation!.separation).toBeCloseTo(4 / 6);
  });

  it('suggests no coin-toss threshold when no bucket is mostly wrong, and a high one when a confident bucket is', () => {
    expect(chooseThreshold([prediction(0.2, true), prediction(0.9, true)]).coinToss).toBeNull();
    // Mostly wrong overall (every cumulative threshold would fail) but only 0.6–0.7 is a coin toss among the confident.
    const mostlyWrong = [prediction(0.1, false), prediction(0.2, false), prediction(0.3, false), prediction(0.65, false), prediction(0.75, true), prediction(0.95, true)];
    expect(chooseThreshold(mostlyWrong).coinToss).toMatchObject({ threshold: 0.7, below: { photos: 4, right: 0 } });
  });
});

describe('photosSeenBy', () => {
  it('collects the photos of a run and of every run it was taught from, and names a deleted ancestor', async () => {
    const runs = {
      c: { name: 'c', parentRunId: 'b', photos: [{ sha256: 'x' }] },
      b: { name: 'b', parentRunId: 'a', photos: [{ sha256: 'x' }, { sha256: 'y' }] },
    } as const;
    const lineage = { detail: async (id: string) => (id in runs ? runs[id as keyof typeof runs] : Promise.reject(new AtelierError('not-found', 'gone'))) };
    const seen = await photosSeenBy(lineage, 'c');
    expect([...seen.hashes]).toEqual([['x', 'c'], ['y', 'b']]);
    expect(seen.missingAncestors).toEqual(['a']);
    await expect(photosSeenBy(lineage, 'a')).rejects.toThrow('gone');
  });
});
