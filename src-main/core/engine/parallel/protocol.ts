/**
 * What the parallel trainer and its helper threads share: one set of SharedArrayBuffers (the
 * batch, the weights at the start of the step, a gradient slot and a state slot per shard) and
 * three small messages.
 */

export interface SharedTrainingBuffers {
  /** batchSize × pixels per image, [0, 1] floats, written by the engine thread each step. */
  pixels: SharedArrayBuffer;
  /** batchSize class indices as floats. */
  labels: SharedArrayBuffer;
  /** Every weight of the model (model.weights order) as the step starts. */
  weights: SharedArrayBuffer;
  /** shards × trainable weight count: each shard's gradient. */
  gradients: SharedArrayBuffer;
  /** shards × state weight count (batch-norm moving statistics): each shard's updated state. */
  states: SharedArrayBuffer;
}

export interface ShardWorkerData {
  /** The model's topology (`model.toJSON(null, false)`), rebuilt by the helper. */
  topology: string;
  buffers: SharedTrainingBuffers;
  /** Nice value for the helper thread (Linux), so the app's own threads win the cores. */
  niceness: number;
}

export type ShardRequest = {
  type: 'step';
  /** Batch number, counted from 1 over the whole run (dropout seeds). */
  step: number;
  /** Bumped whenever `weights` changed since the last step. */
  version: number;
  /** Examples in this batch. */
  count: number;
  shardSize: number;
  shardsPerBatch: number;
  /** The shards this helper computes. */
  shards: number[];
};

export type ShardReply =
  | { type: 'ready' }
  | { type: 'done'; results: { shard: number; lossSum: number; correct: number }[] }
  | { type: 'error'; message: string };
