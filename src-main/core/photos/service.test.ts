/**
 * Classifying photos through the whole core: the contract (`dispatch`), the real engine worker
 * with a tiny model trained here, and the CLI. Every kind of bad input gets its own error kind
 * while the good photos next to it are still classified, and the app answers afterwards.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtelier, type Atelier } from '../../app';
import { ACCEPTED_LABELS, scorePhotos, type PhotosEvaluation } from '../../cli/photos';
import { runCli } from '../../cli/commands';
import { PHOTO_UPLOAD_MAX_BYTES, type CallName, type CallOutput, type PhotoBatch, type PhotoResult } from '../../contract';
import { dispatch } from '../../dispatch';
import type { ErrorInfo } from '../errors';
import { engineWorkerUrl } from '../../locations';
import { seededRandom } from './augment';
import { PHOTO_LIMITS } from './decode';
import { isNotSure, NOT_SURE, PhotoService } from './service';
import { testPhoto } from './test-photos';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');

type CallAnswer<C extends CallName> = { ok: true; value: CallOutput<C> } | { ok: false; error: ErrorInfo };

async function call<C extends CallName>(atelier: Atelier, channel: C, input: unknown): Promise<CallAnswer<C>> {
  return (await dispatch(atelier.handlers, channel, input, { shell: 'browser' })) as CallAnswer<C>;
}

async function cli(home: string, args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const previous = process.env.ATELIER_HOME;
  process.env.ATELIER_HOME = home;
  try {
    const code = await runCli(args, { out: (text) => out.push(text), err: (text) => err.push(text) });
    return { code, out, err };
  } finally {
    if (previous === undefined) delete process.env.ATELIER_HOME;
    else process.env.ATELIER_HOME = previous;
  }
}

describe('isNotSure', () => {
  it('is sure exactly when the top class has at least the threshold, wherever it sits', () => {
    const random = seededRandom(5);
    let sure = 0;
    for (let trial = 0; trial < 300; trial += 1) {
      const raw = Array.from({ length: 10 }, () => random() ** 6);
      const sum = raw.reduce((a, b) => a + b, 0);
      const p = raw.map((v) => v / sum);
      const top = Math.max(...p);
      expect(isNotSure(p)).toBe(top < NOT_SURE.minConfidence);
      expect(isNotSure([...p].reverse())).toBe(isNotSure(p));
      if (!isNotSure(p)) sure += 1;
    }
    // The generated spreads cover both sides of the threshold.
    expect(sure).toBeGreaterThan(20);
    expect(sure).toBeLessThan(280);
    expect(isNotSure([NOT_SURE.minConfidence, 1 - NOT_SURE.minConfidence, 0, 0, 0, 0, 0, 0, 0, 0])).toBe(false);
    expect(isNotSure([0.69, 0.31, 0, 0, 0, 0, 0, 0, 0, 0])).toBe(true);
  });
});

describe('scorePhotos', () => {
  const ok = (folder: string, classIndex: number, notSure = false): PhotoResult => ({
    ok: true, name: `${folder}.jpg`, path: `/p/${folder}/x.jpg`, classIndex, className: String(classIndex), confidence: 0.9,
    probabilities: [], notSure, foundGarment: true, notes: [], steps: null, runId: 'r',
  });
  const batch = (results: PhotoResult[]): PhotoBatch => ({
    run: { id: 'r', name: 'r', preset: 'cnn', testAccuracy: null, photoCount: 0, parentRunId: null },
    preprocessing: 'atelier',
    classNames: [],
    results,
  });

  it('counts the accepted labels of each folder, errors as wrong, and averages folders for the balanced score', () => {
    const results: PhotoResult[] = [
      ok('longsleeve', 2), ok('longsleeve', 6), ok('longsleeve', 4, true),
      ok('shoes', 5), ok('shoes', 9, true), ok('shoes', 7),
      ok('shirt', 2),
      { ok: false, name: 'bad.jpg', path: '/p/shirt/bad.jpg', error: { kind: 'photo-corrupt', message: 'damaged' } },
    ];
    const folderOf = (result: PhotoResult): string => result.path!.split('/')[2]!;
    const score: PhotosEvaluation = scorePhotos('/p', batch(results), folderOf, ['hats']);
    expect(score.photos).toBe(8);
    expect(score.correct).toBe(5);
    expect(score.accuracy).toBeCloseTo(5 / 8);
    expect(score.folders.map((f) => [f.folder, f.photos, f.correct, f.errors])).toEqual([
      ['longsleeve', 3, 2, 0],
      ['shirt', 2, 0, 1],
      ['shoes', 3, 3, 0],
    ]);
    expect(score.balancedAccuracy).toBeCloseTo((2 / 3 + 0 + 1) / 3);
    expect(score.folders[0]!.predicted).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0, 0]);
    expect(score.skipped).toEqual(['hats']);
    expect(score.errors).toEqual([{ file: '/p/shirt/bad.jpg', kind: 'photo-corrupt', message: 'damaged' }]);
    expect(score.notSure).toEqual({ sure: 5, sureCorrect: 4, unsure: 2, unsureCorrect: 1 });
  });

  it('accepts exactly the labels of real-photos/README.md', () => {
    expect(ACCEPTED_LABELS).toEqual({ 't-shirt': [0], pants: [1], longsleeve: [2, 6], dress: [3], outwear: [4], shirt: [6], shoes: [5, 7, 9] });
  });
});

describe.skipIf(!haveData)('classifying photos (real worker, model trained here)', () => {
  let home: string;
  let emptyHome: string;
  let scratch: string;
  let atelier: Atelier;
  let runId: string;
  const bad: Record<string, string> = {};
  let goodPants: string;
  let goodShoe: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'atelier-photos-home-'));
    emptyHome = mkdtempSync(join(tmpdir(), 'atelier-photos-empty-'));
    scratch = mkdtempSync(join(tmpdir(), 'atelier-photos-files-'));
    atelier = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home, preferBackend: 'wasm', datasetSources: { env: {} } });
    ({ runId } = await atelier.training.start({ preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 32, validationSplit: 0, seed: 7, trainLimit: 1000 }));
    await atelier.training.settled();

    goodPants = testPhoto('pants');
    goodShoe = testPhoto('shoes');
    const jpeg = readFileSync(goodPants);
    const random = seededRandom(11);
    const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
    noise[0] = 0x00; // never a JPEG/PNG signature by chance
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
    const huge = Buffer.from(png);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    huge.writeUInt32BE(crc32(huge.subarray(12, 29)), 29);
    const write = (name: string, bytes: Uint8Array | string): string => {
      const path = join(scratch, name);
      writeFileSync(path, bytes);
      return path;
    };
    bad.empty = write('empty.jpg', '');
    bad.random = write('random.jpg', noise);
    bad.truncated = write('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length * 0.4)));
    bad.huge = write('huge.png', huge);
    bad.text = write('notes.jpg', 'Shopping list: a coat, two shirts and some trousers.\n');
    bad.oversized = write('oversized.jpg', jpeg.subarray(0, 1000));
    truncateSync(bad.oversized, PHOTO_LIMITS.maxBytes + 1); // sparse: refused before a byte is read
    bad.missing = join(scratch, 'gone.jpg');
    bad.fifo = join(scratch, 'pipe.jpg');
    execFileSync('mkfifo', [bad.fifo]);
    bad.emptyFolder = join(scratch, 'no-photos');
    mkdirSync(bad.emptyFolder);
    writeFileSync(join(bad.emptyFolder, 'readme.txt'), 'nothing to see');
  }, 240_000);

  afterAll(async () => {
    await atelier?.dispose();
    for (const dir of [home, emptyHome, scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const EXPECTED_KINDS: Record<string, string> = {
    empty: 'photo-empty',
    random: 'photo-corrupt',
    truncated: 'photo-corrupt',
    huge: 'photo-dimensions',
    text: 'photo-unsupported',
    oversized: 'photo-too-large',
    missing: 'photo-unreadable',
    fifo: 'photo-unreadable',
    emptyFolder: 'folder-empty',
  };

  function expectGood(result: PhotoResult | undefined, path: string): void {
    expect(result, path).toBeDefined();
    if (!result?.ok) throw new Error(`${path} was not classified: ${JSON.stringify(result)}`);
    expect(result.path).toBe(path);
    expect(result.name).toBe(basename(path));
    expect(result.probabilities).toHaveLength(10);
    expect(result.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(result.confidence).toBe(Math.max(...result.probabilities));
    expect(result.probabilities[result.classIndex]).toBe(result.confidence);
    expect(result.notSure).toBe(isNotSure(result.probabilities));
    expect(result.runId).toBe(runId);
  }

  it('photos.classifyPaths: each bad input gets its kind and a message naming it; the good photos around them are classified', async () => {
    const names = Object.keys(EXPECTED_KINDS);
    const paths = [goodPants, ...names.map((name) => bad[name]!), goodShoe];
    const answer = await call(atelier, 'photos.classifyPaths', { paths });
    if (!answer.ok) throw new Error(answer.error.message);
    const { results, run, classNames } = answer.value;
    expect(run).toMatchObject({ id: runId, photoCount: 0, parentRunId: null });
    expect(classNames).toHaveLength(10);
    expect(results).toHaveLength(paths.length);
    expectGood(results[0], goodPants);
    expectGood(results.at(-1), goodShoe);
    names.forEach((name, i) => {
      const result = results[i + 1]!;
      expect(result.ok, name).toBe(false);
      if (result.ok) return;
      expect([name, result.error.kind]).toEqual([name, EXPECTED_KINDS[name]]);
      expect(result.path).toBe(bad[name]);
      expect(result.error.message).toContain(bad[name]!);
      // Actionable: every message says what to do next (or, for a missing file, what happened to it).
      expect(result.error.message, name).toMatch(/choose|resize|check|export|try|drop|convert|open|moved or deleted/i);
    });
    // Steps are PNG data URLs of the right sizes.
    const steps = results[0]!.ok ? results[0]!.steps! : null;
    expect(steps).not.toBeNull();
    const input = await sharp(Buffer.from(steps!.input.replace(/^data:image\/png;base64,/, ''), 'base64')).metadata();
    expect([input.format, input.width, input.height]).toEqual(['png', 28, 28]);
    const original = await sharp(Buffer.from(steps!.original.split(',')[1]!, 'base64')).metadata();
    expect(Math.max(original.width!, original.height!)).toBeLessThanOrEqual(256);

    // The app still answers.
    expect((await call(atelier, 'system.info', {})).ok).toBe(true);
    const again = await call(atelier, 'photos.classifyPaths', { paths: [goodShoe], includeSteps: false });
    expect(again.ok && again.value.results[0]!.ok && again.value.results[0]!.steps).toBe(null);
  });

  it('the batch says how many of My photos the answering model trained on, and the run it was taught from', async () => {
    const file = join(atelier.runs.dir(runId), 'run.json');
    const original = readFileSync(file, 'utf8');
    const photos = [0, 1, 2].map((n) => ({ id: `abcdef00000${n}`, sha256: `abcdef00000${n}`.padEnd(64, '0'), label: 7 }));
    writeFileSync(file, JSON.stringify({ ...JSON.parse(original), parentRunId: 'the-parent-run', photos }));
    try {
      const answer = await call(atelier, 'photos.classifyPaths', { paths: [goodShoe], includeSteps: false });
      if (!answer.ok) throw new Error(answer.error.message);
      expect(answer.value.run).toMatchObject({ id: runId, photoCount: 3, parentRunId: 'the-parent-run' });
    } finally {
      writeFileSync(file, original);
    }
  });

  it('the same photo gives the same probabilities alone, in a batch, as a path and as bytes', async () => {
    const alone = await call(atelier, 'photos.classifyPaths', { paths: [goodShoe], includeSteps: false });
    const batch = await call(atelier, 'photos.classifyPaths', { paths: [goodPants, goodShoe, bad.text!], includeSteps: false });
    const bytes = await call(atelier, 'photos.classifyFiles', { files: [{ name: 'shoe.jpg', base64: readFileSync(goodShoe).toString('base64') }], includeSteps: false });
    const probabilitiesOf = (answer: typeof alone, index: number): number[] => {
      if (!answer.ok) throw new Error(answer.error.message);
      const result = answer.value.results[index]!;
      if (!result.ok) throw new Error(result.error.message);
      return result.probabilities;
    };
    const reference = probabilitiesOf(alone, 0);
    probabilitiesOf(batch, 1).forEach((p, k) => expect(p).toBeCloseTo(reference[k]!, 5));
    probabilitiesOf(bytes as typeof alone, 0).forEach((p, k) => expect(p).toBeCloseTo(reference[k]!, 5));
  });

  it('photos.classifyFiles (browser drop, paste): bad bytes get their kinds, good ones are classified', async () => {
    const files = [
      { name: 'pants.jpg', base64: readFileSync(goodPants).toString('base64') },
      ...['empty', 'random', 'truncated', 'huge', 'text'].map((name) => ({ name: basename(bad[name]!), base64: readFileSync(bad[name]!).toString('base64') })),
    ];
    const answer = await call(atelier, 'photos.classifyFiles', { files });
    if (!answer.ok) throw new Error(answer.error.message);
    const results = answer.value.results;
    expect(results[0]!.ok).toBe(true);
    expect(results[0]!.path).toBeNull();
    expect(results.slice(1).map((result) => (result.ok ? 'ok' : result.error.kind))).toEqual(['photo-empty', 'photo-corrupt', 'photo-corrupt', 'photo-dimensions', 'photo-unsupported']);
    expect(results.slice(1).map((result) => result.name)).toEqual(['empty.jpg', 'random.jpg', 'truncated.jpg', 'huge.png', 'notes.jpg']);
  });

  it('the contract refuses relative paths, too many paths, bad base64 and oversized messages before any work', async () => {
    const refused = async (channel: 'photos.classifyPaths' | 'photos.classifyFiles', input: unknown): Promise<string> => {
      const answer = await call(atelier, channel, input);
      expect(answer.ok).toBe(false);
      return answer.ok ? '' : `${answer.error.kind}: ${answer.error.message}`;
    };
    expect(await refused('photos.classifyPaths', { paths: ['photos/shirt.jpg'] })).toMatch(/^invalid-payload: .*absolute/);
    expect(await refused('photos.classifyPaths', { paths: [] })).toMatch(/^invalid-payload/);
    expect(await refused('photos.classifyPaths', { paths: new Array(501).fill(goodShoe) })).toMatch(/^invalid-payload: .*500/);
    expect(await refused('photos.classifyFiles', { files: [{ name: 'a.jpg', base64: 'not base64!' }] })).toMatch(/^invalid-payload/);
    const big = 'A'.repeat(Math.ceil((PHOTO_UPLOAD_MAX_BYTES * 4) / 3) + 8);
    expect(await refused('photos.classifyFiles', { files: [{ name: 'big.jpg', base64: big }] })).toMatch(/^invalid-payload: .*MB/);
    expect(await refused('photos.classifyPaths', { paths: [goodShoe], runId: '../../etc' })).toMatch(/^invalid-payload/);
  });

  it('a 48 MP phone photo (8064×6048 JPEG) is classified like any other', async () => {
    const big = await sharp(goodPants).resize(6048, 8064, { fit: 'fill' }).jpeg({ quality: 80 }).toBuffer();
    const path = join(scratch, 'phone-48mp.jpg');
    writeFileSync(path, big);
    const answer = await call(atelier, 'photos.classifyPaths', { paths: [path], includeSteps: false });
    if (!answer.ok) throw new Error(answer.error.message);
    expectGood(answer.value.results[0], path);
  });

  it('a file over the size limit sent as bytes is photo-too-large (service limits)', async () => {
    const service = new PhotoService({ engine: atelier.engine, runs: atelier.runs, limits: { maxBytes: 10_000 } });
    const batch = await service.classifyFiles([{ name: 'pants.jpg', bytes: readFileSync(goodPants) }]);
    expect(batch.results[0]!.ok ? 'ok' : batch.results[0]!.error.kind).toBe('photo-too-large');
  });

  it('no model: a typed no-model error that says to train or choose one; an unknown run too', async () => {
    const empty = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home: emptyHome, preferBackend: 'wasm', datasetSources: { env: {} } });
    try {
      const answer = await call(empty, 'photos.classifyPaths', { paths: [goodShoe] });
      expect(answer.ok).toBe(false);
      if (!answer.ok) {
        expect(answer.error.kind).toBe('no-model');
        expect(answer.error.message).toMatch(/Train one/);
        expect(answer.error.message).toMatch(/Models/);
      }
    } finally {
      await empty.dispose();
    }
    const unknown = await call(atelier, 'photos.classifyPaths', { paths: [goodShoe], runId: 'no-such-run' });
    expect(unknown.ok ? 'ok' : unknown.error.kind).toBe('no-model');
  });

  it('atelier classify --json: one JSON object per file, the right kinds, exit code 1; the photo lines still come', async () => {
    const names = Object.keys(EXPECTED_KINDS);
    const { code, out } = await cli(home, ['classify', '--run', 'latest', '--json', goodPants, ...names.map((name) => bad[name]!), goodShoe]);
    expect(code).toBe(1);
    const lines = out.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(names.length + 2);
    for (const line of [lines[0]!, lines.at(-1)!]) {
      expect(line.ok).toBe(true);
      expect(typeof line.class).toBe('number');
      expect(line.label).toBe(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'][line.class as number]);
      expect((line.probabilities as number[]).length).toBe(10);
      expect(line.confidence).toBe(Math.max(...(line.probabilities as number[])));
    }
    names.forEach((name, i) => {
      const line = lines[i + 1]!;
      expect([name, line.file, line.ok, (line.error as ErrorInfo).kind]).toEqual([name, bad[name], false, EXPECTED_KINDS[name]]);
      expect((line.error as ErrorInfo).message.length).toBeGreaterThan(20);
    });
    const good = await cli(home, ['classify', goodShoe]);
    expect(good.code).toBe(0);
    expect(good.out.join('\n')).toContain(basename(goodShoe));
  });

  it('atelier classify without a model says how to get one', async () => {
    const { code, err } = await cli(emptyHome, ['classify', goodShoe]);
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/classify: .*Train one/);
  });

  it('atelier photos-eval: per-folder and overall accuracy agree with classify; unknown folders are skipped and named', async () => {
    const layout = join(scratch, 'layout');
    const picks: Record<string, string[]> = { 't-shirt': [testPhoto('t-shirt')], dress: [testPhoto('dress')], shoes: [goodShoe, testPhoto('shoes', 1)], longsleeve: [testPhoto('longsleeve')] };
    for (const [folder, files] of Object.entries(picks)) {
      mkdirSync(join(layout, folder), { recursive: true });
      for (const file of files) copyFileSync(file, join(layout, folder, basename(file)));
    }
    mkdirSync(join(layout, 'hats'));
    copyFileSync(goodPants, join(layout, 'hats', 'cap.jpg'));

    const { code, out } = await cli(home, ['photos-eval', layout, '--run', runId, '--json']);
    expect(code).toBe(0);
    const evaluation = JSON.parse(out.join('\n')) as PhotosEvaluation;
    expect(evaluation.skipped).toEqual(['hats']);
    expect(evaluation.photos).toBe(5);
    expect(evaluation.folders.map((folder) => [folder.folder, folder.photos])).toEqual([['t-shirt', 1], ['longsleeve', 1], ['dress', 1], ['shoes', 2]]);

    // The same photos through classify, scored by hand.
    let correct = 0;
    for (const [folder, files] of Object.entries(picks)) {
      const { out: lines } = await cli(home, ['classify', '--run', runId, '--json', ...files.map((file) => join(layout, folder, basename(file)))]);
      const classes = lines.map((line) => (JSON.parse(line) as { class: number }).class);
      const right = classes.filter((value) => ACCEPTED_LABELS[folder]!.includes(value)).length;
      correct += right;
      expect([folder, evaluation.folders.find((f) => f.folder === folder)!.correct]).toEqual([folder, right]);
    }
    expect(evaluation.correct).toBe(correct);
    expect(evaluation.accuracy).toBeCloseTo(correct / 5);

    const text = await cli(home, ['photos-eval', layout, '--run', runId]);
    expect(text.out.join('\n')).toMatch(/Skipped folders \(not a known label\): hats/);
    const none = await cli(home, ['photos-eval', join(layout, 'hats')]);
    expect(none.code).toBe(1);
    expect(none.err.join('\n')).toMatch(/no class folders/);
  });
});
