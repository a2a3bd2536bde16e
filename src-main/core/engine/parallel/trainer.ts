/**
 * Data-parallel training on the wasm backend: each batch is cut into fixed shards, the engine
 * thread and N−1 helper threads (each with its own TensorFlow.js and copy of the model) compute
 * the shards' gradients on shared memory, and the engine thread adds them up in shard order and
 * applies one Adam step to the model. tfjs-backend-wasm runs every kernel on one core (its
 * threaded build is not available in Node), so this is how a CNN trains on every core.
 *
 * The shards depend on the batch size only, never on the thread count, and the gradients are
 * added in a fixed order: 1, 2 or 8 threads train the same weights, bit for bit. Each shard's
 * dropout masks have their own seed; batch-normalisation statistics are taken per shard (as in
 * PyTorch's data-parallel training without SyncBatchNorm) and the moving averages are averaged.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type * as tfType from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE } from '../../fashion-mnist';
import type { ShardReply, ShardRequest, ShardWorkerData } from './protocol';
import { runShards, SharedTrainingMemory } from './shared-memory';
import { modelWeights, plainFirstConvolution, readWeights, seededDropouts, sizeOf } from './shard-step';
import { sourceWorkerBootstrap } from '../worker-source';

type Tf = typeof tfType;

/** Threads a CNN trains with by default: every core the machine offers (the Dense step caps at 4; convolutions scale further). */
export function defaultParallelThreads(): number {
  return Math.max(1, Math.min(16, availableParallelism()));
}

/**
 * Examples per shard for a batch size: 16 up to batches of 64, then 32 (tfjs's per-kernel cost
 * makes shards under 16 slow; 32-example shards are ~20 % cheaper per example than 16 on wasm).
 */
export function shardSizeFor(batchSize: number): number {
  return batchSize <= 64 ? 16 : 32;
}

/** Nice value of the helper threads on Linux: below the app's own threads, above other programs' idle work. */
export const HELPER_NICENESS = 5;

/** A helper that has not answered a step in this long is taken for hung. */
const HELPER_TIMEOUT_MS = 120_000;

export interface ParallelTrainerOptions {
  /** Threads including the engine's own (default: `defaultParallelThreads()`); capped at the shards per batch. */
  threads?: number;
  /** Override the shard size (tests). */
  shardSize?: number;
}

function helperUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./shard-worker.ts', import.meta.url) : new URL('./engine-shard.js', import.meta.url);
}

type Waiting = { resolve: (reply: ShardReply) => void; reject: (error: Error) => void };

class Helper {
  readonly #worker: Worker;
  #waiting: Waiting | null = null;
  #failure: Error | null = null;

  constructor(data: ShardWorkerData) {
    const url = helperUrl();
    this.#worker = url.pathname.endsWith('.ts')
      ? new Worker(sourceWorkerBootstrap(url), { eval: true, workerData: data, execArgv: [] })
      : new Worker(url, { workerData: data, execArgv: [] });
    this.#worker.on('message', (reply: ShardReply) => {
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.resolve(reply);
    });
    const fail = (error: Error) => {
      this.#failure ??= error;
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.reject(error);
    };
    this.#worker.on('error', (error) => fail(new Error(`a training thread crashed: ${error.message}`)));
    this.#worker.on('exit', (code) => fail(new Error(`a training thread stopped (exit code ${code})`)));
  }

  /** The next reply (or the helper's failure, or a timeout). */
  next(): Promise<ShardReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<ShardReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = null;
        reject(new Error(`a training thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s`));
      }, HELPER_TIMEOUT_MS);
      this.#waiting = {
        resolve: (reply) => (clearTimeout(timer), resolve(reply)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
    });
  }

  send(request: ShardRequest): void {
    this.#worker.postMessage(request);
  }

  terminate(): Promise<number> {
    this.#worker.removeAllListeners('exit');
    this.#worker.on('exit', () => {});
    return this.#worker.terminate();
  }
}

const failed = (message: string) =>
  new Error(`Training on several threads failed: ${message}. The epochs finished so far are kept: Resume goes on from the last one.`);

export class ParallelTrainer {
  readonly threads: number;
  readonly shardSize: number;
  readonly #tf: Tf;
  readonly #model: tfType.LayersModel;
  readonly #weights: ReturnType<typeof modelWeights>;
  readonly #memory: SharedTrainingMemory;
  readonly #helpers: Helper[];
  readonly #dropouts: ReturnType<typeof seededDropouts>;
  readonly #firstConvolution: { restore(): void };
  readonly #shardsPerBatch: number;
  #version = 0;
  /** Whether `weights` holds the model's weights yet (read at the first step, after anything that set them). */
  #published = false;
  #disposed = false;

  private constructor(tf: Tf, model: tfType.LayersModel, batchSize: number, threads: number, shardSize: number, helpers: Helper[], memory: SharedTrainingMemory) {
    this.#tf = tf;
    this.#model = model;
    this.#weights = modelWeights(model);
    this.#memory = memory;
    this.#helpers = helpers;
    this.threads = threads;
    this.shardSize = shardSize;
    this.#shardsPerBatch = Math.ceil(batchSize / shardSize);
    this.#dropouts = seededDropouts(model);
    this.#firstConvolution = plainFirstConvolution(model, tf);
  }

  /** Start the helpers (each loads TensorFlow.js and rebuilds the model: about a second). */
  static async create(tf: Tf, model: tfType.LayersModel, batchSize: number, options: ParallelTrainerOptions = {}): Promise<ParallelTrainer> {
    const shardSize = options.shardSize ?? shardSizeFor(batchSize);
    const shardsPerBatch = Math.ceil(batchSize / shardSize);
    const threads = Math.max(1, Math.min(options.threads ?? defaultParallelThreads(), shardsPerBatch));
    const weights = modelWeights(model);
    const buffers = SharedTrainingMemory.allocate(weights, batchSize, shardsPerBatch);
    const memory = new SharedTrainingMemory(buffers, weights);
    const topology = JSON.stringify(model.toJSON(null, false));
    const helpers: Helper[] = [];
    try {
      for (let i = 1; i < threads; i++) helpers.push(new Helper({ topology, buffers, niceness: HELPER_NICENESS }));
      const replies = await Promise.all(helpers.map((helper) => helper.next()));
      const refused = replies.find((reply) => reply.type === 'error');
      if (refused?.type === 'error') throw failed(refused.message);
    } catch (error) {
      await Promise.all(helpers.map((helper) => helper.terminate()));
      throw error instanceof Error && error.message.startsWith('Training on several') ? error : failed((error as Error).message);
    }
    return new ParallelTrainer(tf, model, batchSize, threads, shardSize, helpers, memory);
  }

  /** The batch's pixels ([0, 1] floats), to be filled in place before `step`. */
  pixelBuffer(count: number): Float32Array {
    return this.#memory.pixels.subarray(0, count * PIXELS_PER_IMAGE);
  }

  /**
   * Train one batch whose pixels are already in `pixelBuffer(count)`; `step` counts batches from 1
   * over the run. Resolves with the batch's mean loss and accuracy.
   */
  async step(labels: Float32Array, count: number, step: number): Promise<{ loss: number; accuracy: number }> {
    if (this.#disposed) throw new Error('This parallel trainer was disposed.');
    const tf = this.#tf;
    const memory = this.#memory;
    if (!this.#published) {
      readWeights(this.#weights.all, memory.weights);
      this.#published = true;
    }
    memory.labels.set(labels.subarray(0, count));
    const shards = Math.ceil(count / this.shardSize);
    const threads = Math.min(this.threads, shards);
    // Shard k goes to thread k mod threads: thread 0 is this one.
    const mine: number[] = [];
    const theirs: number[][] = this.#helpers.map(() => []);
    for (let shard = 0; shard < shards; shard++) {
      const thread = shard % threads;
      if (thread === 0) mine.push(shard);
      else theirs[thread - 1]!.push(shard);
    }
    const request = { step, count, shardSize: this.shardSize, shardsPerBatch: this.#shardsPerBatch, version: this.#version };
    const answers: Promise<ShardReply>[] = [];
    this.#helpers.forEach((helper, i) => {
      if (theirs[i]!.length === 0) return;
      answers.push(helper.next());
      helper.send({ type: 'step', ...request, shards: theirs[i]! });
    });
    let results = runShards(tf, this.#model, this.#weights, this.#dropouts, memory, { ...request, shards: mine });
    let replies: ShardReply[];
    try {
      replies = await Promise.all(answers);
    } catch (error) {
      throw failed((error as Error).message);
    }
    for (const reply of replies) {
      if (reply.type === 'error') throw failed(reply.message);
      if (reply.type === 'done') results = results.concat(reply.results);
    }
    this.#apply(shards, count);
    let lossSum = 0;
    let correct = 0;
    for (const result of results.sort((a, b) => a.shard - b.shard)) {
      lossSum += result.lossSum;
      correct += result.correct;
    }
    return { loss: lossSum / count, accuracy: correct / count };
  }

  /** Add the shards' gradients in shard order, take one optimizer step, average the state, publish the weights. */
  #apply(shards: number, count: number): void {
    const tf = this.#tf;
    const memory = this.#memory;
    const total = memory.gradientSlot(0).slice();
    for (let shard = 1; shard < shards; shard++) {
      const slot = memory.gradientSlot(shard);
      for (let i = 0; i < total.length; i++) total[i]! += slot[i]!;
    }
    const gradients: Record<string, tfType.Tensor> = {};
    let offset = 0;
    for (const weight of this.#weights.trainable) {
      const size = sizeOf(weight.shape);
      gradients[weight.read().name] = tf.tensor(total.subarray(offset, offset + size), weight.shape, 'float32');
      offset += size;
    }
    try {
      this.#model.optimizer.applyGradients(gradients);
    } finally {
      tf.dispose(Object.values(gradients));
    }
    if (this.#weights.state.length > 0) {
      const averaged = new Float32Array(memory.stateSize);
      for (let shard = 0; shard < shards; shard++) {
        const share = (Math.min(count, (shard + 1) * this.shardSize) - shard * this.shardSize) / count;
        const slot = memory.stateSlot(shard);
        for (let i = 0; i < averaged.length; i++) averaged[i]! += slot[i]! * share;
      }
      let stateOffset = 0;
      for (const weight of this.#weights.state) {
        const size = sizeOf(weight.shape);
        const value = tf.tensor(averaged.subarray(stateOffset, stateOffset + size), weight.shape, 'float32');
        weight.write(value);
        value.dispose();
        stateOffset += size;
      }
    }
    readWeights(this.#weights.all, memory.weights);
    this.#version++;
  }

  /** Stop the helpers and give the model back its own first layer and dropout seeds. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#firstConvolution.restore();
    this.#dropouts.restore();
    await Promise.all(this.#helpers.map((helper) => helper.terminate()));
  }
}
