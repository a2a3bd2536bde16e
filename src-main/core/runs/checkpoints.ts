/**
 * Checkpoints: everything a training needs to go on after its last finished epoch, in the run folder.
 *
 *   runs/<id>/checkpoints/epoch-0003.json            manifest: the epoch, its metrics, the generators'
 *                                                     states, Adam's step, and each file's size and SHA-256
 *   runs/<id>/checkpoints/epoch-0003.weights.bin     every weight of the model (model.getWeights() order), float32
 *   runs/<id>/checkpoints/epoch-0003.optimizer.bin   Adam's first moments, then its second moments, float32
 *   runs/<id>/checkpoints/epoch-0003.samples.bin     the epoch order and the photos' cycle, uint32
 *
 * The binary files are written (atomically) first and the manifest last: a manifest is the commit
 * point, and one that exists names files that were complete when it was written. The newest two
 * checkpoints are kept, and the best epoch's while early stopping may go back to it, so a damaged
 * newest checkpoint leaves an older good one to start from. Nothing here knows TensorFlow.js.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EpochMetricsSchema, type CheckpointStatus, type EpochMetrics } from '../../contract';
import { AtelierError } from '../errors';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic';

export const CHECKPOINTS_DIR = 'checkpoints';
const FORMAT = 1;
const MANIFEST = /^epoch-(\d{4,})\.json$/;
const FILE = /^epoch-(\d{4,})\.(weights|optimizer|samples)\.bin(\.tmp-.*)?$/;

const FileRecordSchema = z.object({ name: z.string().regex(/^epoch-\d{4,}\.(weights|optimizer|samples)\.bin$/), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** Where the shuffles and augmentation stand after the epoch (TrainingSamples' state, less its arrays). */
export const SamplesStateSchema = z.object({
  random: z.number().int(),
  augmentRandom: z.number().int(),
  cycleRandom: z.number().int(),
  cyclePosition: z.number().int(),
  orderLength: z.number().int(),
  cycleLength: z.number().int(),
});
export type SamplesState = z.infer<typeof SamplesStateSchema>;

/** Early stopping's memory: the best validation loss so far, its epoch, and epochs since. */
export const EarlyStoppingStateSchema = z.object({ bestEpoch: z.number().int(), bestValLoss: z.number(), epochsSinceBest: z.number().int() });
export type EarlyStoppingState = z.infer<typeof EarlyStoppingStateSchema>;

const ManifestSchema = z.object({
  format: z.literal(FORMAT),
  epoch: z.number().int().positive(),
  createdAt: z.string(),
  metrics: EpochMetricsSchema,
  weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()) })),
  optimizer: z.object({
    iterations: z.number().int(),
    accBeta1: z.number(),
    accBeta2: z.number(),
    /** Shapes of the moment tensors, in the optimizer's variable order (m and v alike). */
    moments: z.array(z.array(z.number().int())),
  }),
  samples: SamplesStateSchema,
  dropoutStep: z.number().int(),
  scheduleFromEpoch: z.number().int().positive(),
  earlyStopping: EarlyStoppingStateSchema.nullable(),
  files: z.object({ weights: FileRecordSchema, optimizer: FileRecordSchema, samples: FileRecordSchema }),
});
type Manifest = z.infer<typeof ManifestSchema>;

/** What a checkpoint holds, as the engine captures and restores it. */
export interface CheckpointData {
  epoch: number;
  metrics: EpochMetrics;
  weights: { name: string; shape: number[]; values: Float32Array }[];
  optimizer: { iterations: number; accBeta1: number; accBeta2: number; first: { shape: number[]; values: Float32Array }[]; second: Float32Array[] };
  samples: SamplesState & { order: Uint32Array; cycle: Uint32Array };
  dropoutStep: number;
  /** The epoch the learning-rate schedule's current span starts at (1, or where Train more began). */
  scheduleFromEpoch: number;
  earlyStopping: EarlyStoppingState | null;
}

export const checkpointsDir = (runDir: string): string => join(runDir, CHECKPOINTS_DIR);
const manifestName = (epoch: number): string => `epoch-${String(epoch).padStart(4, '0')}.json`;
const fileName = (epoch: number, kind: 'weights' | 'optimizer' | 'samples'): string => `epoch-${String(epoch).padStart(4, '0')}.${kind}.bin`;

function concatFloats(parts: readonly Float32Array[]): Uint8Array {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return new Uint8Array(out.buffer);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Write one epoch's checkpoint into `runDir/checkpoints`, then drop the ones no longer needed:
 * all but the newest `keep` and `alsoKeep` (the best epoch). Returns the bytes written.
 */
export async function writeCheckpoint(runDir: string, data: CheckpointData, options: { keep?: number; alsoKeep?: number | null } = {}): Promise<number> {
  const dir = checkpointsDir(runDir);
  const blobs = {
    weights: concatFloats(data.weights.map((weight) => weight.values)),
    optimizer: concatFloats([...data.optimizer.first.map((moment) => moment.values), ...data.optimizer.second]),
    samples: (() => {
      const out = new Uint32Array(data.samples.order.length + data.samples.cycle.length);
      out.set(data.samples.order);
      out.set(data.samples.cycle, data.samples.order.length);
      return new Uint8Array(out.buffer);
    })(),
  };
  const files = {} as Manifest['files'];
  for (const kind of ['weights', 'optimizer', 'samples'] as const) {
    const name = fileName(data.epoch, kind);
    await writeFileAtomic(join(dir, name), blobs[kind]);
    files[kind] = { name, bytes: blobs[kind].byteLength, sha256: sha256(blobs[kind]) };
  }
  const { order: _order, cycle: _cycle, ...samples } = data.samples;
  const manifest: Manifest = {
    format: FORMAT,
    epoch: data.epoch,
    createdAt: new Date().toISOString(),
    metrics: data.metrics,
    weights: data.weights.map(({ name, shape }) => ({ name, shape })),
    optimizer: { iterations: data.optimizer.iterations, accBeta1: data.optimizer.accBeta1, accBeta2: data.optimizer.accBeta2, moments: data.optimizer.first.map((moment) => moment.shape) },
    samples: { ...samples, orderLength: data.samples.order.length, cycleLength: data.samples.cycle.length },
    dropoutStep: data.dropoutStep,
    scheduleFromEpoch: data.scheduleFromEpoch,
    earlyStopping: data.earlyStopping,
    files,
  };
  await writeJsonAtomic(join(dir, manifestName(data.epoch)), manifest);
  await pruneCheckpoints(runDir, options.keep ?? 2, options.alsoKeep ?? null);
  return blobs.weights.byteLength + blobs.optimizer.byteLength + blobs.samples.byteLength;
}

/** Epochs that have a manifest, newest first (not checked). */
export async function checkpointEpochs(runDir: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(checkpointsDir(runDir));
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const match = MANIFEST.exec(entry);
    return match ? [Number(match[1])] : [];
  }).sort((a, b) => b - a);
}

/** Delete every checkpoint but the newest `keep` and `alsoKeep`, and files no manifest names (a write cut short). */
async function pruneCheckpoints(runDir: string, keep: number, alsoKeep: number | null): Promise<void> {
  const dir = checkpointsDir(runDir);
  const epochs = await checkpointEpochs(runDir);
  const kept = new Set(epochs.slice(0, keep));
  if (alsoKeep !== null && epochs.includes(alsoKeep)) kept.add(alsoKeep);
  for (const epoch of epochs) if (!kept.has(epoch)) await rm(join(dir, manifestName(epoch)), { force: true });
  for (const entry of await readdir(dir)) {
    const match = FILE.exec(entry);
    if (match && (!kept.has(Number(match[1])) || match[3])) await rm(join(dir, entry), { force: true });
  }
}

/** Delete the checkpoints after `epoch` (resuming from an older one makes them stale). */
export async function dropCheckpointsAfter(runDir: string, epoch: number): Promise<void> {
  const dir = checkpointsDir(runDir);
  for (const later of (await checkpointEpochs(runDir)).filter((one) => one > epoch)) await rm(join(dir, manifestName(later)), { force: true });
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const match = FILE.exec(entry);
    if (match && Number(match[1]) > epoch) await rm(join(dir, entry), { force: true });
  }
}

function damaged(message: string): AtelierError {
  return new AtelierError('checkpoint-damaged', message);
}

/** Read and check one checkpoint: every file present, of the size and SHA-256 its manifest says. Throws `checkpoint-damaged` naming the file. */
export async function readCheckpoint(runDir: string, epoch: number): Promise<CheckpointData> {
  const dir = checkpointsDir(runDir);
  const manifestPath = join(dir, manifestName(epoch));
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch {
    throw damaged(`${manifestPath} is missing.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw damaged(`${manifestPath} is damaged: it is not valid JSON.`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success || parsed.data.epoch !== epoch) throw damaged(`${manifestPath} is damaged: it is not a checkpoint manifest Atelier can read.`);
  const manifest = parsed.data;
  const blobs = {} as Record<'weights' | 'optimizer' | 'samples', Uint8Array>;
  for (const kind of ['weights', 'optimizer', 'samples'] as const) {
    const record = manifest.files[kind];
    const path = join(dir, record.name);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch {
      throw damaged(`${path} is missing.`);
    }
    if (bytes.byteLength !== record.bytes) throw damaged(`${path} is damaged: expected ${record.bytes.toLocaleString('en-US')} bytes, found ${bytes.byteLength.toLocaleString('en-US')}.`);
    if (sha256(bytes) !== record.sha256) throw damaged(`${path} is damaged: its SHA-256 does not match the one ${manifestName(epoch)} recorded.`);
    blobs[kind] = bytes;
  }
  const floats = (bytes: Uint8Array): Float32Array => {
    const copy = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(copy.buffer).set(bytes);
    return copy;
  };
  const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
  const weightFloats = floats(blobs.weights);
  const optimizerFloats = floats(blobs.optimizer);
  const expectedWeights = manifest.weights.reduce((sum, weight) => sum + size(weight.shape), 0);
  const momentFloats = manifest.optimizer.moments.reduce((sum, shape) => sum + size(shape), 0);
  if (weightFloats.length !== expectedWeights || optimizerFloats.length !== 2 * momentFloats || blobs.samples.byteLength !== 4 * (manifest.samples.orderLength + manifest.samples.cycleLength)) {
    throw damaged(`${manifestPath} does not match its files' sizes.`);
  }
  let at = 0;
  const weights = manifest.weights.map(({ name, shape }) => {
    const values = weightFloats.slice(at, (at += size(shape)));
    return { name, shape, values };
  });
  at = 0;
  const first = manifest.optimizer.moments.map((shape) => ({ shape, values: optimizerFloats.slice(at, (at += size(shape))) }));
  const second = manifest.optimizer.moments.map((shape) => optimizerFloats.slice(at, (at += size(shape))));
  const indices = new Uint32Array(blobs.samples.byteLength / 4);
  new Uint8Array(indices.buffer).set(blobs.samples);
  return {
    epoch,
    metrics: manifest.metrics,
    weights,
    optimizer: { iterations: manifest.optimizer.iterations, accBeta1: manifest.optimizer.accBeta1, accBeta2: manifest.optimizer.accBeta2, first, second },
    samples: { ...manifest.samples, order: indices.slice(0, manifest.samples.orderLength), cycle: indices.slice(manifest.samples.orderLength) },
    dropoutStep: manifest.dropoutStep,
    scheduleFromEpoch: manifest.scheduleFromEpoch,
    earlyStopping: manifest.earlyStopping,
  };
}

/** Every checkpoint of a run, newest first, each checked. */
export async function checkCheckpoints(runDir: string): Promise<CheckpointStatus[]> {
  const out: CheckpointStatus[] = [];
  for (const epoch of await checkpointEpochs(runDir)) {
    const file = join(checkpointsDir(runDir), manifestName(epoch));
    try {
      await readCheckpoint(runDir, epoch);
      out.push({ epoch, file, ok: true, problem: null });
    } catch (error) {
      out.push({ epoch, file, ok: false, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  return out;
}

/** The manifest a run's epoch would have (for messages about a checkpoint that is not there). */
export function checkpointManifestPath(runDir: string, epoch: number): string {
  return join(checkpointsDir(runDir), manifestName(epoch));
}
