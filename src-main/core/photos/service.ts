/**
 * Classify a person's own clothing photos: decode and preprocess each file (a few at a time),
 * then ask the engine for every good photo's probabilities in one call. A bad file becomes an
 * error result with a kind and a message; it never fails the others.
 */
import { basename, resolve } from 'node:path';
import { WHY_METHOD, type PhotoBatch, type PhotoFraming, type PhotoPreprocessing, type PhotoProgress, type PhotoResult, type PhotoSteps, type WhyMap } from '../../contract';
import { CLASS_NAMES, IMAGE_SIDE, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { AtelierError, toErrorInfo, type ErrorInfo } from '../errors';
import type { RunStore } from '../runs/store';
import { collectPhotoPaths, decodePhoto, type DecodedPhoto, type PhotoLimits } from './decode';
import { stepToDataUrl } from './png';
import { toGray } from './colour';
import { resizeArea } from './geometry';
import { preprocessPhoto, type PreprocessSteps } from './preprocess';

/**
 * When a prediction is shown as "not sure". A photo is outside the domain the model learnt, so
 * its softmax is less trustworthy than on Fashion-MNIST. Measured with `photo-robust` on the 290
 * real photos (README, "Your own photos"): below a top probability of 0.7 the answer is right
 * 40–50 % of the time whatever the exact value (a coin toss, or worse), above it 58 % (0.7–0.8),
 * 69 % (0.8–0.9) and 83 % (≥ 0.9). So "not sure" marks the coin tosses. A margin rule adds
 * nothing: a top probability of 0.7 already leaves the runner-up at most 0.3.
 */
export const NOT_SURE = { minConfidence: 0.7 } as const;

/** True when the prediction should carry a visible "not sure". */
export function isNotSure(probabilities: ArrayLike<number>): boolean {
  let top = 0;
  for (let i = 0; i < probabilities.length; i += 1) top = Math.max(top, probabilities[i] ?? 0);
  return top < NOT_SURE.minConfidence;
}

/** A photo to classify: a file on disk, or bytes with the name the person knows them by. */
export type PhotoInput = { readonly path: string } | { readonly name: string; readonly bytes: Uint8Array };

export interface ClassifyOptions {
  /** Use this run's model; default: the active run. */
  readonly runId?: string;
  /** Encode the original / separated / 28×28 pictures as PNG data URLs (default true). */
  readonly includeSteps?: boolean;
  /** 'atelier' (default): separate the garment; 'naive': grayscale and squash to 28×28, for comparison. */
  readonly preprocessing?: PhotoPreprocessing;
  /** Also explain each answer with an occlusion heatmap (`PhotoResult.why`). */
  readonly why?: boolean;
  /** Progress of this batch (throttled by the caller if it wants). */
  readonly onProgress?: (progress: Omit<PhotoProgress, 'requestId'>) => void;
}

/**
 * What classifying photos needs of the engine: the model's probabilities for preprocessed inputs
 * (n × 784 in [0, 1] in, n × 10 out). Declared here, not imported, so that photos/ does not depend
 * on engine/: the engine imports photos/ for its training augmentation. `EngineClient` fits it.
 */
export interface PhotoClassifier {
  request(method: 'predict', params: { modelDir: string; pixels: Float32Array }): Promise<{ probabilities: Float32Array }>;
  /** Occlusion maps of the top class (engine/occlusion.ts), for "why" heatmaps. */
  request(
    method: 'occlusion',
    params: { modelDir: string; pixels: Float32Array; patch: number; stride: number },
  ): Promise<{ maps: Float32Array; classIndex: Int32Array; probability: Float32Array }>;
}

export interface PhotoServiceOptions {
  readonly engine: PhotoClassifier;
  readonly runs: Pick<RunStore, 'activeRunId' | 'hasModel' | 'modelDir' | 'read' | 'evaluation'>;
  /** Photos decoded at the same time; each holds a full-size decode in memory briefly. Default 2. */
  readonly concurrency?: number;
  readonly limits?: Partial<PhotoLimits>;
}

/** One photo after decoding and preprocessing, waiting for its prediction. */
interface Prepared {
  readonly input: Float32Array;
  readonly steps: PhotoSteps | null;
  readonly foundGarment: boolean;
  readonly notes: string[];
  readonly framing: PhotoFraming;
}

type Slot = { name: string; path: string | null } & ({ prepared: Prepared } | { error: PhotoResult & { ok: false } } | { source: PhotoInput });

export class PhotoService {
  readonly #engine: PhotoServiceOptions['engine'];
  readonly #runs: PhotoServiceOptions['runs'];
  readonly #concurrency: number;
  readonly #limits: Partial<PhotoLimits> | undefined;

  constructor(options: PhotoServiceOptions) {
    this.#engine = options.engine;
    this.#runs = options.runs;
    this.#concurrency = Math.max(1, options.concurrency ?? 2);
    this.#limits = options.limits;
  }

  /** Files and folders on disk; a folder contributes its photos where it stands in the list. */
  async classifyPaths(paths: readonly string[], options: ClassifyOptions = {}): Promise<PhotoBatch> {
    const run = await this.#resolveRun(options.runId);
    const slots: Slot[] = [];
    const seen = new Set<string>();
    for (const path of paths) {
      const { files, problems } = await collectPhotoPaths([path]);
      for (const problem of problems) slots.push({ name: basename(problem.path) || problem.path, path: problem.path, error: failure(basename(problem.path) || problem.path, problem.path, problem.error) });
      for (const file of files) {
        const key = resolve(file);
        if (seen.has(key)) continue;
        seen.add(key);
        slots.push({ name: basename(file), path: file, source: { path: file } });
      }
    }
    return this.#classify(run, slots, options);
  }

  /** Photos as bytes (browser drop, paste), each with its file name. */
  async classifyFiles(files: readonly { name: string; bytes: Uint8Array }[], options: ClassifyOptions = {}): Promise<PhotoBatch> {
    const run = await this.#resolveRun(options.runId);
    return this.#classify(run, files.map((file) => ({ name: file.name, path: null, source: { name: file.name, bytes: file.bytes } })), options);
  }

  /**
   * Why the model (`runId`'s, or the active run's) answered as it did on one 28×28 input given as
   * bytes (0 background … 255): the occlusion heatmap of its top class.
   */
  async why(pixels: readonly number[] | Uint8Array, runId?: string): Promise<WhyMap & { runId: string }> {
    if (pixels.length !== PIXELS_PER_IMAGE) throw new AtelierError('invalid-payload', `A "why" heatmap needs the ${PIXELS_PER_IMAGE} pixels of one 28×28 image, got ${pixels.length}.`);
    const run = await this.#resolveRun(runId);
    const [map] = await this.#whyMaps(run.modelDir, Float32Array.from(pixels, (value) => value / 255));
    return { ...map!, runId: run.id };
  }

  async #whyMaps(modelDir: string, pixels: Float32Array): Promise<WhyMap[]> {
    const { patch, stride } = WHY_METHOD;
    const { maps, classIndex, probability } = await this.#engine.request('occlusion', { modelDir, pixels, patch, stride });
    return Array.from(classIndex, (index, i) => ({
      classIndex: index,
      probability: probability[i] ?? 0,
      map: Array.from(maps.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)),
      patch,
      stride,
    }));
  }

  async #resolveRun(runId: string | undefined): Promise<PhotoBatch['run'] & { modelDir: string }> {
    const id = runId ?? (await this.#runs.activeRunId());
    if (!id) {
      throw new AtelierError('no-model', 'No model is chosen to classify photos. Train one in Train, or mark a trained run Active in Models.');
    }
    if (!(await this.#runs.hasModel(id))) {
      throw new AtelierError(
        'no-model',
        runId
          ? `Run ${id} has no saved model (it does not exist, or it has not finished an epoch). Choose another run; ‘atelier runs’ lists them.`
          : `The run chosen for photos (${id}) has no saved model any more. Choose another run in Models, or train one.`,
      );
    }
    const record = await this.#runs.read(id);
    const evaluation = await this.#runs.evaluation(id).catch(() => null);
    return {
      id,
      name: record.name,
      preset: record.preset,
      testAccuracy: evaluation?.accuracy ?? null,
      photoCount: record.photos?.length ?? 0,
      parentRunId: record.parentRunId ?? null,
      modelDir: this.#runs.modelDir(id),
    };
  }

  async #classify(run: PhotoBatch['run'] & { modelDir: string }, slots: Slot[], options: ClassifyOptions): Promise<PhotoBatch> {
    const preprocessing = options.preprocessing ?? 'atelier';
    const includeSteps = options.includeSteps ?? true;
    const total = slots.length;
    let done = 0;
    let lastReport = 0;
    const report = (phase: PhotoProgress['phase']): void => {
      const now = Date.now();
      // A few reports a second are enough for a progress bar; the first and the last always go.
      if (phase === 'preparing' && done > 0 && done < total && now - lastReport < 100) return;
      lastReport = now;
      options.onProgress?.({ done, total, phase });
    };

    // Problems found while expanding folders count as done from the start.
    done = slots.filter((slot) => !('source' in slot)).length;
    report('preparing');
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < slots.length) {
        const index = next++;
        const slot = slots[index]!;
        if (!('source' in slot)) continue;
        try {
          const preprocessed = await photoToInput(slot.source, { preprocessing, limits: this.#limits });
          slots[index] = { name: slot.name, path: slot.path, prepared: await prepare(preprocessed, includeSteps) };
        } catch (error) {
          slots[index] = { name: slot.name, path: slot.path, error: failure(slot.name, slot.path, toErrorInfo(error)) };
        }
        done += 1;
        report('preparing');
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, slots.length) }, worker));

    const good = slots.flatMap((slot, index) => ('prepared' in slot ? [{ index, prepared: slot.prepared }] : []));
    const classes = CLASS_NAMES.length;
    let probabilities: Float32Array = new Float32Array(0);
    if (good.length > 0) {
      report('predicting');
      const pixels = new Float32Array(good.length * PIXELS_PER_IMAGE);
      good.forEach(({ prepared }, i) => pixels.set(prepared.input, i * prepared.input.length));
      ({ probabilities } = await this.#engine.request('predict', { modelDir: run.modelDir, pixels }));
    }
    const predicted = new Map(good.map(({ index }, i) => [index, Array.from(probabilities.subarray(i * classes, (i + 1) * classes))]));
    const explained = new Map<number, WhyMap>();
    if (options.why && good.length > 0) {
      const pixels = new Float32Array(good.length * PIXELS_PER_IMAGE);
      good.forEach(({ prepared }, i) => pixels.set(prepared.input, i * PIXELS_PER_IMAGE));
      const maps = await this.#whyMaps(run.modelDir, pixels);
      good.forEach(({ index }, i) => explained.set(index, maps[i]!));
    }
    report('done');

    const results = slots.map((slot, index): PhotoResult => {
      if ('error' in slot) return slot.error;
      if (!('prepared' in slot)) throw new Error('unreachable: a photo was neither prepared nor failed');
      const p = predicted.get(index)!;
      const classIndex = argMax(p);
      return {
        ok: true,
        name: slot.name,
        path: slot.path,
        classIndex,
        className: CLASS_NAMES[classIndex] ?? String(classIndex),
        confidence: p[classIndex] ?? 0,
        probabilities: p,
        notSure: isNotSure(p),
        foundGarment: slot.prepared.foundGarment,
        notes: slot.prepared.notes,
        steps: slot.prepared.steps,
        framing: slot.prepared.framing,
        ...(explained.has(index) ? { why: explained.get(index)! } : {}),
        runId: run.id,
      };
    });
    const { modelDir: _modelDir, ...runInfo } = run;
    return { run: runInfo, preprocessing, classNames: [...CLASS_NAMES], results };
  }
}

function failure(name: string, path: string | null, error: ErrorInfo): PhotoResult & { ok: false } {
  return { ok: false, name, path, error: { kind: error.kind, message: error.message } };
}

function argMax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i += 1) if ((values[i] ?? -Infinity) > (values[best] ?? -Infinity)) best = i;
  return best;
}

/**
 * Decode and preprocess one photo exactly as Classify does: `input` is what the model sees, and
 * `steps.final28` the same 784 values as bytes (input = final28 / 255). Training on My photos
 * uses this too, so a photo teaches the model with the very input it is classified by.
 */
export async function photoToInput(
  source: PhotoInput,
  options: { readonly preprocessing?: PhotoPreprocessing; readonly limits?: Partial<PhotoLimits> } = {},
): Promise<{ input: Float32Array; steps: PreprocessSteps; foundGarment: boolean; notes: string[]; framing: PhotoFraming }> {
  const decoded = 'path' in source ? await decodePhoto(source.path, { limits: options.limits }) : await decodePhoto(source.bytes, { name: source.name, limits: options.limits });
  return options.preprocessing === 'naive' ? preprocessNaively(decoded) : preprocessPhoto(decoded);
}

async function prepare(result: Awaited<ReturnType<typeof photoToInput>>, includeSteps: boolean): Promise<Prepared> {
  // Let the event loop breathe between photos: preprocessing is synchronous CPU work.
  await new Promise<void>((done) => setImmediate(done));
  const steps = includeSteps
    ? {
        original: await stepToDataUrl(result.steps, 'original'),
        separated: await stepToDataUrl(result.steps, 'separated'),
        input: await stepToDataUrl(result.steps, 'final28'),
      }
    : null;
  return { input: result.input, steps, foundGarment: result.foundGarment, notes: result.notes, framing: result.framing };
}

/**
 * What someone new to Fashion-MNIST would do with a photo: grayscale it and squash it to 28×28.
 * Kept to measure what Atelier's preprocessing adds (README, `atelier photos-eval --naive`).
 */
export function preprocessNaively(decoded: { readonly image: DecodedPhoto['image'] }): { input: Float32Array; steps: PreprocessSteps; foundGarment: boolean; notes: string[]; framing: PhotoFraming } {
  const gray = toGray(decoded.image);
  const small = resizeArea(gray, IMAGE_SIDE, IMAGE_SIDE);
  const final28 = Uint8Array.from(small.data, (v) => Math.round(Math.min(255, Math.max(0, v))));
  const input = Float32Array.from(final28, (v) => v / 255);
  const mask = { width: gray.width, height: gray.height, data: new Uint8Array(gray.width * gray.height).fill(1) };
  // The whole photo, squashed: the crop is the photo and it fills the canvas.
  const framing = { photo: { width: gray.width, height: gray.height }, crop: { x0: 0, y0: 0, x1: gray.width, y1: gray.height }, placed: { x: 0, y: 0, width: IMAGE_SIDE, height: IMAGE_SIDE } };
  return { input, steps: { original: decoded.image, mask, separated: gray, final28 }, foundGarment: false, notes: ['Naive preprocessing: the whole photo in grayscale, squashed to 28×28.'], framing };
}
