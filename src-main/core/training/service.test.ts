/**
 * Training through the whole core: the real engine worker (from source), the real dataset, runs
 * on disk in a temporary ATELIER_HOME. These are the behavioural guarantees.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtelier, type Atelier } from '../../app';
import type { EventName, EventPayload, TrainingConfig } from '../../contract';
import { dispatch } from '../../dispatch';
import { engineWorkerUrl } from '../../locations';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');

const quick = (patch: Partial<TrainingConfig> = {}): TrainingConfig => ({
  preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 128, validationSplit: 0, seed: 1, trainLimit: 2000, ...patch,
});

function nextEvent<E extends EventName>(atelier: Atelier, name: E, where: (payload: EventPayload<E>) => boolean = () => true): Promise<EventPayload<E>> {
  return new Promise((resolve) => {
    const off = atelier.events.subscribe((eventName: EventName, payload: unknown) => {
      if (eventName === name && where(payload as EventPayload<E>)) {
        off();
        resolve(payload as EventPayload<E>);
      }
    });
  });
}

describe.skipIf(!haveData)('training service (real worker, real data)', () => {
  let home: string;
  let atelier: Atelier;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'atelier-training-'));
    atelier = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home, preferBackend: 'wasm', datasetSources: { env: {} } });
  });

  afterAll(async () => {
    await atelier.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it('one real epoch of tutorial-mlp on the full training set reaches test accuracy ≥ 0.82', async () => {
    const batches: number[] = [];
    const off = atelier.events.subscribe((name, payload) => {
      if (name === 'training.batch') batches.push((payload as EventPayload<'training.batch'>).batch);
    });
    const { runId } = await atelier.training.start(quick({ trainLimit: null }));
    await atelier.training.settled();
    off();

    const run = await atelier.runs.detail(runId);
    expect(run).toMatchObject({ status: 'completed', epochsCompleted: 1, hasModel: true, backend: 'wasm', active: true });
    expect(run.testAccuracy!).toBeGreaterThanOrEqual(0.82);
    expect(run.metrics).toHaveLength(1);
    expect(run.metrics[0]!.samplesPerSecond).toBeGreaterThan(0);
    // Progress streamed, and throttled (1,875 batches, far fewer events).
    expect(batches.length).toBeGreaterThan(2);
    expect(batches.length).toBeLessThan(1875);
    expect(batches.at(-1)).toBe(1875);

    const evaluation = await atelier.training.evaluation(runId);
    expect(evaluation.confusion.flat().reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(evaluation.perClass).toHaveLength(10);
    const samples = await atelier.training.samples({ runId, offset: 0, count: 25 });
    expect(samples.items).toHaveLength(25);
    expect(Buffer.from(samples.pixels, 'base64').byteLength).toBe(25 * 784);
    const mistakes = await atelier.training.samples({ runId, offset: 0, count: 5, filter: { trueClass: null, predictedClass: null, correct: false } });
    expect(mistakes.total).toBe(Math.round(10_000 * (1 - evaluation.accuracy)));
    expect(mistakes.items.every((item) => item.label !== item.predicted)).toBe(true);
  });

  it('answers a second start while training with a clear busy error, and stop mid-epoch keeps the last finished epoch', async () => {
    const config = quick({ epochs: 4, trainLimit: 6000 });
    const { runId } = await atelier.training.start(config);
    const second = await dispatch(atelier.handlers, 'training.start', config, { shell: 'cli' });
    expect(second).toMatchObject({ ok: false, error: { kind: 'busy' } });
    if (!second.ok) expect(second.error.message).toMatch(/already running/);

    await nextEvent(atelier, 'training.epoch', (epoch) => epoch.runId === runId && epoch.epoch === 1);
    await nextEvent(atelier, 'training.batch', (batch) => batch.runId === runId && batch.epoch === 2);
    expect(atelier.training.stop()).toEqual({ stopping: true });
    await atelier.training.settled();

    const run = await atelier.runs.detail(runId);
    expect(run).toMatchObject({ status: 'stopped', epochsCompleted: 1, hasModel: true });
    expect(run.metrics).toHaveLength(1);
    expect(run.testAccuracy).not.toBeNull();
    expect(atelier.training.state().status).toBe('idle');
  });

  it('survives the worker dying mid-epoch: the run is failed with its metrics kept, and training works again', async () => {
    const { runId } = await atelier.training.start(quick({ epochs: 5, trainLimit: 6000 }));
    await nextEvent(atelier, 'training.epoch', (epoch) => epoch.runId === runId && epoch.epoch === 1);
    await nextEvent(atelier, 'training.batch', (batch) => batch.runId === runId && batch.epoch === 2);
    await atelier.engine.terminate();
    await atelier.training.settled();

    const run = await atelier.runs.detail(runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/engine/i);
    expect(run.metrics).toHaveLength(1);
    const lines = readFileSync(join(home, 'runs', runId, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);

    const again = await atelier.training.start(quick({ trainLimit: 1000 }));
    await atelier.training.settled();
    expect((await atelier.runs.detail(again.runId)).status).toBe('completed');
  });

  it('refuses invalid settings before anything starts, naming the field', async () => {
    const before = (await atelier.runs.list()).length;
    const result = await dispatch(atelier.handlers, 'training.start', { ...quick(), epochs: 0 }, { shell: 'cli' });
    expect(result).toMatchObject({ ok: false, error: { kind: 'invalid-payload' } });
    if (!result.ok) expect(result.error.message).toMatch(/Epochs must be at least 1/);
    const negative = await dispatch(atelier.handlers, 'training.start', { ...quick(), learningRate: -1 }, { shell: 'cli' });
    expect(negative).toMatchObject({ ok: false, error: { kind: 'invalid-payload' } });
    if (!negative.ok) expect(negative.error.message).toMatch(/Learning rate must be above 0/);
    expect((await atelier.runs.list()).length).toBe(before);
  });

  it('lists runs newest first with their status, and deletes them', async () => {
    const runs = await atelier.runs.list();
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.map((run) => run.createdAt)).toEqual([...runs.map((run) => run.createdAt)].sort().reverse());
    const failed = runs.find((run) => run.status === 'failed')!;
    expect(await atelier.runs.delete(failed.id)).toBe(true);
    expect((await atelier.runs.list()).some((run) => run.id === failed.id)).toBe(false);
  });
});
