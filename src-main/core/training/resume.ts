/**
 * What Resume and Train more go on from: which checkpoint (checked before anything in the run
 * folder is touched), how many epochs in all, where the learning-rate schedule's span starts, and
 * the metrics the curves continue from. A damaged or missing checkpoint refuses with the file and
 * the last good checkpoint to start from instead.
 */
import { TrainingConfigSchema, type EpochMetrics, type TrainingConfig } from '../../contract';
import { AtelierError } from '../errors';
import { checkCheckpoints, checkpointEpochs, checkpointManifestPath, dropCheckpointsAfter, readCheckpoint } from '../runs/checkpoints';
import type { RunRecord, RunStore } from '../runs/store';

export interface ResumePlan {
  run: RunRecord;
  config: TrainingConfig;
  /** The checkpoint's epoch: training goes on with the next one. */
  fromEpoch: number;
  /** A new schedule span from here (Train more), or undefined to keep the checkpoint's (a resume within the plan). */
  scheduleFromEpoch: number | undefined;
  /** True for Train more: early stopping's patience counts again from the first new epoch. */
  trainMore: boolean;
  /** The run's epochs up to `fromEpoch`, once each, as the curves continue from. */
  metrics: EpochMetrics[];
  /** Make the run folder agree with the plan (drop later epochs' metrics and checkpoints); only once it is accepted. */
  prepare(): Promise<void>;
}

export interface ResumeRequest {
  runId: string;
  /** More epochs to train from the checkpoint; absent: the rest of the run's plan. */
  epochs?: number;
  /** Go on from this (older) checkpoint instead of the newest. */
  fromEpoch?: number;
}

/** Checks everything Resume needs and returns the plan, or throws with what to do; writes nothing. */
export async function planResume(runs: RunStore, request: ResumeRequest): Promise<ResumePlan> {
  const run = await runs.read(request.runId);
  if (run.status === 'running' || run.status === 'evaluating') throw new AtelierError('busy', `${run.name} is training right now; it can be resumed once it has stopped.`);
  if (run.origin !== 'trained' || !run.config) {
    throw new AtelierError('unsupported', `${run.name} was imported, not trained here, so it has no checkpoint to go on from. Teach it with your photos, or train a new model.`);
  }
  const runDir = runs.dir(run.id);
  const available = await checkpointEpochs(runDir);
  if (available.length === 0) {
    const why = run.epochsCompleted === 0 ? 'it stopped before its first epoch ended' : 'it was trained before Atelier kept checkpoints';
    throw new AtelierError('not-found', `${run.name} has no checkpoint to go on from (${why}). Start a new run with its settings in Train instead.`);
  }
  const wanted = request.fromEpoch ?? Math.max(available[0]!, run.epochsCompleted);
  const lastGoodBefore = async (epoch: number): Promise<number | null> => (await checkCheckpoints(runDir)).find((one) => one.ok && one.epoch < epoch)?.epoch ?? null;
  const refuse = async (problem: string, epoch: number): Promise<never> => {
    const good = await lastGoodBefore(epoch);
    const offer =
      good === null
        ? 'No older checkpoint is intact: start a new run with its settings in Train instead.'
        : `The last good checkpoint is epoch ${good}: resume from it instead (“Resume from epoch ${good}” in Models, or atelier train --resume ${run.id} --from-epoch ${good}); the epochs after it are trained again.`;
    throw new AtelierError('checkpoint-damaged', `Cannot resume ${run.name}: ${problem} ${offer}`);
  };
  if (!available.includes(wanted)) {
    if (request.fromEpoch !== undefined) {
      throw new AtelierError('not-found', `${run.name} has no checkpoint of epoch ${wanted}; it has ${available.length === 1 ? 'epoch' : 'epochs'} ${[...available].reverse().join(', ')}.`);
    }
    await refuse(`the checkpoint of epoch ${wanted}, ${checkpointManifestPath(runDir, wanted)}, is missing.`, wanted);
  }
  let checkpointMetrics: EpochMetrics;
  try {
    checkpointMetrics = (await readCheckpoint(runDir, wanted)).metrics;
  } catch (error) {
    if (error instanceof AtelierError && error.kind === 'checkpoint-damaged') return refuse(error.message, wanted);
    throw error;
  }

  const total = request.epochs !== undefined ? wanted + request.epochs : wanted < run.config.epochs && !run.earlyStop ? run.config.epochs : null;
  if (total === null || total <= wanted) {
    throw new AtelierError(
      'invalid-config',
      `${run.name} has trained all ${run.config.epochs} of its epochs${run.earlyStop ? ' (early stopping ended it)' : ''}. Say how many more to train: Train more in Models, or atelier train --resume ${run.id} --epochs N.`,
    );
  }
  const parsed = TrainingConfigSchema.safeParse({ ...run.config, epochs: total });
  if (!parsed.success) throw new AtelierError('invalid-config', `${run.name} cannot train to epoch ${total}: ${parsed.error.issues[0]?.message ?? 'the settings are not valid'}`);
  const trainMore = total !== run.config.epochs || Boolean(run.earlyStop);
  const byEpoch = new Map<number, EpochMetrics>();
  for (const metrics of await runs.metrics(run.id)) if (metrics.epoch <= wanted) byEpoch.set(metrics.epoch, metrics);
  if (!byEpoch.has(wanted)) byEpoch.set(wanted, checkpointMetrics);
  const metrics = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  return {
    run,
    config: parsed.data,
    fromEpoch: wanted,
    scheduleFromEpoch: trainMore ? wanted + 1 : undefined,
    trainMore,
    metrics,
    prepare: async () => {
      await runs.rewriteMetrics(run.id, metrics);
      await dropCheckpointsAfter(runDir, wanted);
    },
  };
}
