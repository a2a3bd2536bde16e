/**
 * Views on the parallel trainer's shared buffers, and the loop that computes a list of shards
 * into their slots (the same on the engine thread and on every helper).
 */
import type * as tfType from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE } from '../../fashion-mnist';
import type { SharedTrainingBuffers, ShardRequest } from './protocol';
import { readWeights, shardGradients, shardSeed, sizeOf, writeWeights, type LayerWeight } from './shard-step';

type Tf = typeof tfType;

export interface WeightGroups {
  all: LayerWeight[];
  trainable: LayerWeight[];
  state: LayerWeight[];
}

export class SharedTrainingMemory {
  readonly pixels: Float32Array;
  readonly labels: Float32Array;
  readonly weights: Float32Array;
  readonly gradients: Float32Array;
  readonly states: Float32Array;
  readonly trainableSize: number;
  readonly stateSize: number;
  /** Where the state weights start in `weights` (model.weights order is not trainable-first in general). */
  readonly stateOffsets: number[];

  constructor(buffers: SharedTrainingBuffers, weights: WeightGroups) {
    this.pixels = new Float32Array(buffers.pixels);
    this.labels = new Float32Array(buffers.labels);
    this.weights = new Float32Array(buffers.weights);
    this.gradients = new Float32Array(buffers.gradients);
    this.states = new Float32Array(buffers.states);
    this.trainableSize = weights.trainable.reduce((sum, weight) => sum + sizeOf(weight.shape), 0);
    this.stateSize = weights.state.reduce((sum, weight) => sum + sizeOf(weight.shape), 0);
    const offsets = new Map<LayerWeight, number>();
    let offset = 0;
    for (const weight of weights.all) {
      offsets.set(weight, offset);
      offset += sizeOf(weight.shape);
    }
    this.stateOffsets = weights.state.map((weight) => offsets.get(weight)!);
  }

  static allocate(weights: WeightGroups, batchSize: number, shardsPerBatch: number): SharedTrainingBuffers {
    const floats = (count: number) => new SharedArrayBuffer(Math.max(1, count) * Float32Array.BYTES_PER_ELEMENT);
    const total = (list: LayerWeight[]) => list.reduce((sum, weight) => sum + sizeOf(weight.shape), 0);
    return {
      pixels: floats(batchSize * PIXELS_PER_IMAGE),
      labels: floats(batchSize),
      weights: floats(total(weights.all)),
      gradients: floats(shardsPerBatch * total(weights.trainable)),
      states: floats(shardsPerBatch * total(weights.state)),
    };
  }

  gradientSlot(shard: number): Float32Array {
    return this.gradients.subarray(shard * this.trainableSize, (shard + 1) * this.trainableSize);
  }

  stateSlot(shard: number): Float32Array {
    return this.states.subarray(shard * this.stateSize, (shard + 1) * this.stateSize);
  }

  /** Put the step-start values of the state weights back (a shard's forward pass moves them). */
  restoreState(tf: Tf, state: readonly LayerWeight[]): void {
    state.forEach((weight, i) => writeWeights(tf, [weight], this.weights, this.stateOffsets[i]));
  }
}

/** Compute the listed shards of a step into their gradient and state slots. */
export function runShards(
  tf: Tf,
  model: tfType.LayersModel,
  weights: WeightGroups,
  dropouts: { set(offset: number): void },
  memory: SharedTrainingMemory,
  request: Pick<ShardRequest, 'step' | 'count' | 'shardSize' | 'shardsPerBatch' | 'shards'>,
): { shard: number; lossSum: number; correct: number }[] {
  return request.shards.map((shard) => {
    const start = shard * request.shardSize;
    const end = Math.min(request.count, start + request.shardSize);
    if (weights.state.length > 0) memory.restoreState(tf, weights.state);
    dropouts.set(shardSeed(request.step, shard, request.shardsPerBatch));
    const result = shardGradients(
      tf,
      model,
      weights.trainable,
      memory.pixels.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE),
      memory.labels.subarray(start, end),
      request.count,
      memory.gradientSlot(shard),
    );
    if (weights.state.length > 0) readWeights(weights.state, memory.stateSlot(shard));
    return { shard, ...result };
  });
}
