/**
 * Teaching with photos from the CLI, end to end (real engine worker, Fashion-MNIST, the repository's
 * test photos, a temporary data folder): train --my-photos, teach, runs and evaluate showing the
 * parent, photos-eval refusing the photos a model trained on (its own and its parent's), and the
 * cross-validation on the six test photos leaving My photos and the runs list as they were.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MyPhotosListing, RunSummary } from '../contract';
import { TEST_PHOTOS_DIR, testPhoto } from '../core/photos/test-photos';
import { runCli } from './commands';
import { ACCEPTED_LABELS, TRAINING_LABELS, type PhotosEvaluation } from './photos';
import type { CrossValidationReport } from './photos-cv';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The last JSON line of a command's output (train and teach print epochs first). */
function lastJson<T>(out: string): T {
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

describe('the training-label table', () => {
  it('teaches each folder of real-photos as one of the classes it is scored right for', () => {
    expect(Object.keys(TRAINING_LABELS).sort()).toEqual(Object.keys(ACCEPTED_LABELS).sort());
    for (const [folder, label] of Object.entries(TRAINING_LABELS)) expect(ACCEPTED_LABELS[folder], folder).toContain(label);
    expect(TRAINING_LABELS).toEqual({ 't-shirt': 0, pants: 1, longsleeve: 2, dress: 3, outwear: 4, shirt: 6, shoes: 7 });
  });
});

const tiny = ['--limit', '200', '--epochs', '1', '--hidden-units', '16', '--seed', '5'];

describe.skipIf(!haveData)('atelier train --my-photos, teach, photos-eval refusals and --cv (real worker)', () => {
  let temp: string;
  const saved = { home: process.env.ATELIER_HOME, backend: process.env.ATELIER_BACKEND, dir: process.env.FASHION_MNIST_DIR };

  beforeAll(() => {
    temp = mkdtempSync(join(tmpdir(), 'atelier-cli-teach-'));
    process.env.ATELIER_HOME = join(temp, 'home');
    process.env.ATELIER_BACKEND = 'wasm';
    delete process.env.FASHION_MNIST_DIR;
  });
  afterAll(() => {
    for (const [name, value] of [['ATELIER_HOME', saved.home], ['ATELIER_BACKEND', saved.backend], ['FASHION_MNIST_DIR', saved.dir]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(temp, { recursive: true, force: true });
  });

  it('refuses --photo-share without --my-photos (exit 2, nothing trained)', async () => {
    const { code, err } = await run(['train', ...tiny, '--photo-share', '0.2']);
    expect(code).toBe(2);
    expect(err).toContain('add --my-photos');
    expect(JSON.parse((await run(['runs', '--json'])).out)).toEqual([]);
  });

  let parentId: string;
  let childId: string;

  it('train --my-photos uses My photos and says how many per class', async () => {
    expect((await run(['photos', 'add', '--label', 'trouser', testPhoto('pants')])).code).toBe(0);
    expect((await run(['photos', 'add', '--label', 'sneaker', testPhoto('shoes', 0)])).code).toBe(0);
    const text = await run(['train', ...tiny, '--my-photos', '--photo-share', '0.2']);
    expect(text.err).toBe('');
    expect(text.code).toBe(0);
    expect(text.out).toContain("My photos: 2 photos (Trouser 1, Sneaker 1), 0.2 of each epoch's samples.");
    expect(text.out).toMatch(/Test set \(10000 images\): accuracy/);
    const runs = JSON.parse((await run(['runs', '--json'])).out) as (RunSummary & { photos: number })[];
    expect(runs).toHaveLength(1);
    parentId = runs[0]!.id;
    expect(runs[0]!.photos).toBe(2);
  });

  it('teach --json starts from the run, prints the new run, its parent, the photos and test accuracies', async () => {
    // The child trains on other photos than its parent, so the scorer must look up the parent too.
    const listing = JSON.parse((await run(['photos', 'list', '--json'])).out) as MyPhotosListing;
    const shoe = listing.photos.find((photo) => photo.label === 7)!;
    expect((await run(['photos', 'remove', shoe.id])).code).toBe(0);
    expect((await run(['photos', 'add', '--label', 'dress', testPhoto('dress')])).code).toBe(0);

    const { code, out, err } = await run(['teach', '--run', parentId, '--photo-share', '0.3', '--json']);
    expect(err).toBe('');
    expect(code).toBe(0);
    const result = lastJson<{ runId: string; status: string; parentRunId: string; parentTestAccuracy: number; photos: number; photosPerClass: Record<string, number>; evaluation: { accuracy: number } }>(out);
    expect(result).toMatchObject({ status: 'completed', parentRunId: parentId, photos: 2, photosPerClass: { Trouser: 1, Dress: 1 } });
    expect(result.evaluation.accuracy).toBeGreaterThan(0);
    expect(result.parentTestAccuracy).toBeGreaterThan(0);
    childId = result.runId;
  });

  it('runs and evaluate show which run a taught run started from', async () => {
    const runs = await run(['runs']);
    expect(runs.code).toBe(0);
    expect(runs.out).toMatch(new RegExp(`↳ taught from .* \\(${parentId}\\) with 2 photos`));
    expect(runs.out).toContain('↳ trained with 2 photos');
    const evaluate = await run(['evaluate', '--run', childId]);
    expect(evaluate.code).toBe(0);
    expect(evaluate.out).toContain(`taught from`);
    expect(evaluate.out).toContain(`(${parentId}) with 2 photos (Trouser 1, Dress 1)`);
  });

  it('photos-eval refuses the photos a model trained on, counted apart, and its parent\'s too', async () => {
    const parent = await run(['photos-eval', TEST_PHOTOS_DIR, '--run', parentId, '--json']);
    expect(parent.code).toBe(0);
    const parentScore = JSON.parse(parent.out) as PhotosEvaluation;
    expect(parentScore.refused.map((photo) => photo.file).sort()).toEqual([testPhoto('pants'), testPhoto('shoes', 0)].sort());
    expect(parentScore.refused.every((photo) => photo.runId === parentId)).toBe(true);
    expect(parentScore.photos).toBe(4);
    expect(parentScore.folders.find((folder) => folder.folder === 'pants')).toMatchObject({ photos: 0, refused: 1 });
    expect(parentScore.folders.find((folder) => folder.folder === 'shoes')).toMatchObject({ photos: 1, refused: 1 });

    const child = await run(['photos-eval', TEST_PHOTOS_DIR, '--run', childId]);
    expect(child.code).toBe(0);
    expect(child.out).toContain('Refused 3 photos this model trained on');
    expect(child.out).toContain(`${testPhoto('shoes', 0)} (trained run ${parentId})`);
    expect(child.out).toContain(`${testPhoto('dress')} (trained run ${childId})`);
    expect(child.out).toMatch(/^\s+all\s+3\s/m);
  });

  it('photos-eval --cv 2 on the six test photos: every photo held out once, My photos and the runs list unchanged', async () => {
    const before = { photos: (await run(['photos', 'list', '--json'])).out, runs: JSON.parse((await run(['runs', '--json'])).out) as RunSummary[] };
    // A folder the training-label table does not know is skipped with a message.
    const dir = join(temp, 'photos');
    cpSync(TEST_PHOTOS_DIR, dir, { recursive: true });
    cpSync(join(TEST_PHOTOS_DIR, 'dress'), join(dir, 'hats'), { recursive: true });

    const { code, out, err } = await run(['photos-eval', dir, '--cv', '2', '--preset', 'tutorial-mlp', '--limit', '500', '--epochs', '1', '--json']);
    expect(err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(out) as CrossValidationReport;
    expect(report.skippedFolders).toEqual(['hats']);
    expect(report.result.overall.photos).toBe(6);
    expect(report.result.folds.map((fold) => [fold.photos, fold.trainingPhotos])).toEqual([[3, 3], [3, 3]]);
    expect(report.result.perFolder.map((folder) => [folder.folder, folder.photos])).toEqual([['dress', 1], ['longsleeve', 1], ['pants', 1], ['shoes', 2], ['t-shirt', 1]]);
    expect(new Set(report.result.predictions.map((prediction) => prediction.path)).size).toBe(6);
    for (const fold of report.result.folds) expect(fold.testAccuracy).toBeGreaterThan(0.3);
    expect(report.result.baseline).toMatchObject({ kept: false, baseRunTestAccuracy: null });
    expect(report.result.buckets.reduce((sum, bucket) => sum + bucket.photos, 0)).toBe(6);
    expect(report.base).toMatchObject({ kind: 'preset', config: { preset: 'tutorial-mlp', epochs: 1, trainLimit: 500 } });

    expect((await run(['photos', 'list', '--json'])).out).toBe(before.photos);
    expect((JSON.parse((await run(['runs', '--json'])).out) as RunSummary[]).map((summary) => summary.id)).toEqual(before.runs.map((summary) => summary.id));
  });

  it('photos-eval --cv --teach refuses the photos the taught run trained on, and the text names folds and the threshold', async () => {
    const { code, out, err } = await run(['photos-eval', TEST_PHOTOS_DIR, '--cv', '2', '--teach', childId, '--keep-runs']);
    expect(code).toBe(0);
    expect(err).toMatch(/Fold 2\/2: \d\/\d held-out photos right/);
    expect(out).toContain('Left out: 3 refused (the base run trained on them).');
    expect(out).toMatch(/^\s+all\s+3\s/m);
    expect(out).toMatch(/Fashion-MNIST test accuracy: [\d.]+% for the run taught the same epochs without photos \(\S+\); fold models [+−][\d.]+ points on average/);
    expect(out).toMatch(/\(The run taught had [\d.]+% before any further epoch\.\)/);
    expect(out).toContain('The threshold in use (NOT_SURE) is 0.7.');
    expect(out).toMatch(/^\s+1\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+[\d.]+%\s+CV 1\/2 seed 42 · taught \(/m);
    const runs = JSON.parse((await run(['runs', '--json'])).out) as (RunSummary & { parentRunId: string | null })[];
    // Kept: the baseline (taught without photos) and the two folds, all children of the taught run.
    const kept = runs.filter((summary) => summary.name.startsWith('CV '));
    expect(kept.map((summary) => summary.parentRunId)).toEqual([childId, childId, childId]);
    expect(kept.map((summary) => summary.name).sort()).toEqual(['CV 1/2 seed 42 · taught', 'CV 2/2 seed 42 · taught', 'CV base seed 42 · taught without photos']);
    const baseline = JSON.parse((await run(['runs', '--json'])).out) as (RunSummary & { photos: number })[];
    expect(baseline.find((summary) => summary.name === 'CV base seed 42 · taught without photos')!.photos).toBe(0);
  });

  it('refuses options that do not go together, before any training', async () => {
    for (const [argv, message] of [
      [['photos-eval', TEST_PHOTOS_DIR, '--preset', 'cnn'], '--preset is an option of cross-validation'],
      [['photos-eval', TEST_PHOTOS_DIR, '--cv', '1'], '--cv must be a whole number of at least 2'],
      [['photos-eval', TEST_PHOTOS_DIR, '--cv', '2', '--run', 'latest'], 'use --teach ID'],
      [['photos-eval', TEST_PHOTOS_DIR, '--cv', '2', '--teach', 'latest', '--limit', '500'], 'Leave out --limit'],
      [['photos-eval', TEST_PHOTOS_DIR, '--cv', '2', '--photo-share', '0.9'], 'at most 0.5'],
    ] as const) {
      const { code, err } = await run([...argv]);
      expect(code, argv.join(' ')).toBe(2);
      expect(err, argv.join(' ')).toContain(message);
    }
  });
});
