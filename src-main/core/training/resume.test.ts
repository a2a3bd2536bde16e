/**
 * Resume through the whole core (real engine worker from source, real data, runs on disk): the
 * engine killed mid-epoch and the run resumed ends as an uninterrupted run with the same seed, its
 * metrics file with each epoch once; a damaged or missing checkpoint is refused, naming the file and
 * the last good epoch, and leaves the run folder as it was.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtelier, type Atelier } from '../../app';
import type { EventName, EventPayload, TrainingConfig } from '../../contract';
import { dispatch } from '../../dispatch';
import { engineWorkerUrl } from '../../locations';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');

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

/** Every file of a folder with its SHA-256 and size: what "nothing changed" is checked against. */
function folderState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[relative(dir, path)] = `${statSync(path).size}:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(!haveData)('resume (real worker, real data)', () => {
  let home: string;
  let atelier: Atelier;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'atelier-resume-'));
    atelier = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home, preferBackend: 'wasm', datasetSources: { env: {} } });
  });

  afterAll(async () => {
    await atelier.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  async function weightsOf(runId: string): Promise<Float32Array[]> {
    const described = await atelier.engine.request('inspect', { modelDir: atelier.runs.modelDir(runId), includeWeights: true, probe: null });
    return described.layers.flatMap((layer) => layer.weights.map((weight) => weight.values));
  }

  function largestDifference(a: Float32Array[], b: Float32Array[]): number {
    expect(a.map((w) => w.length)).toEqual(b.map((w) => w.length));
    let largest = 0;
    a.forEach((weights, i) => weights.forEach((value, j) => (largest = Math.max(largest, Math.abs(value - b[i]![j]!)))));
    return largest;
  }

  const cases: [string, TrainingConfig][] = [
    ['tutorial-mlp (fused Dense step)', { preset: 'tutorial-mlp', epochs: 3, batchSize: 32, learningRate: 0.002, hiddenUnits: 64, validationSplit: 0.1, seed: 3, trainLimit: 20_000, schedule: { kind: 'cosine' } }],
    ['cnn', { preset: 'cnn', epochs: 3, batchSize: 32, learningRate: 0.001, hiddenUnits: 32, validationSplit: 0.1, seed: 3, trainLimit: 1200, schedule: { kind: 'one-cycle' } }],
  ];

  for (const [label, config] of cases) {
    it(`${label}: the engine killed mid-epoch 2, the run resumed, ends with the weights of an uninterrupted run; each epoch once in metrics.jsonl`, async () => {
      const { runId: straight } = await atelier.training.start(config);
      await atelier.training.settled();

      const { runId } = await atelier.training.start(config);
      await nextEvent(atelier, 'training.batch', (batch) => batch.runId === runId && batch.epoch === 2 && batch.batch < batch.batches);
      await atelier.engine.terminate();
      await atelier.training.settled();
      const killed = await atelier.runs.detail(runId);
      expect(killed.status).toBe('failed');
      expect(killed.error).toMatch(/stopped unexpectedly|terminated/);
      expect(killed.checkpointEpoch).toBe(1);

      const resumed = await dispatch(atelier.handlers, 'training.resume', { runId }, { shell: 'cli' });
      expect(resumed).toEqual({ ok: true, value: { runId } });
      await atelier.training.settled();

      const run = await atelier.runs.detail(runId);
      expect(run).toMatchObject({ status: 'completed', epochsCompleted: 3, epochsPlanned: 3, hasModel: true, checkpointEpoch: 3 });
      const lines = readFileSync(join(atelier.runs.dir(runId), 'metrics.jsonl'), 'utf8').trim().split('\n');
      expect(lines.map((line) => (JSON.parse(line) as { epoch: number }).epoch)).toEqual([1, 2, 3]);
      const reference = await atelier.runs.detail(straight);
      expect(run.metrics.map((epoch) => epoch.learningRate)).toEqual(reference.metrics.map((epoch) => epoch.learningRate));
      expect(run.metrics[2]!.valLoss).toBeCloseTo(reference.metrics[2]!.valLoss!, 5);
      expect(largestDifference(await weightsOf(runId), await weightsOf(straight))).toBeLessThan(1e-5);
      expect(run.testAccuracy).toBeCloseTo(reference.testAccuracy!, 3);
    }, 300_000);
  }

  it('a damaged or missing checkpoint file: resume refuses naming the file and the last good epoch, and changes nothing; from the last good one it trains on', async () => {
    const config: TrainingConfig = { preset: 'tutorial-mlp', epochs: 3, batchSize: 32, learningRate: 0.001, hiddenUnits: 32, validationSplit: 0.1, seed: 9, trainLimit: 2000 };
    const { runId } = await atelier.training.start(config);
    await atelier.training.settled();
    const dir = atelier.runs.dir(runId);
    expect(readdirSync(join(dir, 'checkpoints')).filter((name) => name.endsWith('.json')).sort()).toEqual(['epoch-0002.json', 'epoch-0003.json']);

    const weights = join(dir, 'checkpoints', 'epoch-0003.weights.bin');
    const bytes = readFileSync(weights);
    bytes[100]! ^= 0xff;
    writeFileSync(weights, bytes);
    const before = folderState(dir);
    const damaged = await dispatch(atelier.handlers, 'training.resume', { runId, epochs: 1 }, { shell: 'cli' });
    expect(damaged.ok).toBe(false);
    if (!damaged.ok) {
      expect(damaged.error.kind).toBe('checkpoint-damaged');
      expect(damaged.error.message).toContain(weights);
      expect(damaged.error.message).toMatch(/SHA-256/);
      expect(damaged.error.message).toMatch(/last good checkpoint is epoch 2/);
      expect(damaged.error.message).toContain(`--resume ${runId} --from-epoch 2`);
    }
    expect(folderState(dir)).toEqual(before);

    bytes[100]! ^= 0xff;
    writeFileSync(weights, bytes);
    unlinkSync(join(dir, 'checkpoints', 'epoch-0003.optimizer.bin'));
    const missingBefore = folderState(dir);
    const missing = await dispatch(atelier.handlers, 'training.resume', { runId, epochs: 1 }, { shell: 'cli' });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.message).toContain(`${join(dir, 'checkpoints', 'epoch-0003.optimizer.bin')} is missing`);
    expect(folderState(dir)).toEqual(missingBefore);
    const listed = await atelier.training.checkpoints(runId);
    expect(listed).toMatchObject({ lastGoodEpoch: 2, epochsCompleted: 3, checkpoints: [{ epoch: 3, ok: false }, { epoch: 2, ok: true, problem: null }] });

    // Accept the offer: from epoch 2, one more epoch; epoch 3 is trained again, and recorded once.
    const fromGood = await dispatch(atelier.handlers, 'training.resume', { runId, fromEpoch: 2, epochs: 1 }, { shell: 'cli' });
    expect(fromGood.ok).toBe(true);
    await atelier.training.settled();
    const run = await atelier.runs.detail(runId);
    expect(run).toMatchObject({ status: 'completed', epochsCompleted: 3, checkpointEpoch: 3 });
    expect(run.metrics.map((epoch) => epoch.epoch)).toEqual([1, 2, 3]);
    expect((await atelier.training.checkpoints(runId)).checkpoints.every((one) => one.ok)).toBe(true);
  }, 120_000);

  it('Train more: a completed run trains N more epochs in the same run, its curves continued; a run without a checkpoint says so', async () => {
    const config: TrainingConfig = { preset: 'tutorial-mlp', epochs: 2, batchSize: 32, learningRate: 0.001, hiddenUnits: 32, validationSplit: 0.1, seed: 4, trainLimit: 2000 };
    const { runId } = await atelier.training.start(config);
    await atelier.training.settled();
    const refused = await dispatch(atelier.handlers, 'training.resume', { runId }, { shell: 'cli' });
    expect(refused).toMatchObject({ ok: false, error: { kind: 'invalid-config' } });
    if (!refused.ok) expect(refused.error.message).toMatch(/trained all 2 of its epochs.*--epochs N/);

    await atelier.training.resume({ runId, epochs: 2 });
    const state = atelier.training.state();
    expect(state.metrics.map((epoch) => epoch.epoch)).toEqual([1, 2]);
    await atelier.training.settled();
    const run = await atelier.runs.detail(runId);
    expect(run).toMatchObject({ status: 'completed', epochsCompleted: 4, epochsPlanned: 4, config: { epochs: 4 } });
    expect(run.metrics.map((epoch) => epoch.epoch)).toEqual([1, 2, 3, 4]);

    const gone = await atelier.runs.create({ config, preset: 'tutorial-mlp', backend: 'wasm', origin: 'trained', epochsPlanned: 2 });
    await atelier.runs.update(gone.id, { status: 'stopped' });
    const none = await dispatch(atelier.handlers, 'training.resume', { runId: gone.id }, { shell: 'cli' });
    expect(none).toMatchObject({ ok: false, error: { kind: 'not-found' } });
    if (!none.ok) expect(none.error.message).toMatch(/no checkpoint to go on from \(it stopped before its first epoch ended\)/);
  }, 120_000);

  it('early stopping ends a run, keeps the best epoch’s model, and records where and why', async () => {
    const config: TrainingConfig = { preset: 'tutorial-mlp', epochs: 30, batchSize: 32, learningRate: 0.01, hiddenUnits: 64, validationSplit: 0.5, seed: 11, trainLimit: 300, earlyStopping: { patience: 2 } };
    const finished = nextEvent(atelier, 'training.finished');
    const { runId } = await atelier.training.start(config);
    await atelier.training.settled();
    const run = await atelier.runs.detail(runId);
    const losses = run.metrics.map((epoch) => epoch.valLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(run.earlyStop).toEqual({ stoppedAfterEpoch: best + 2, bestEpoch: best, bestValLoss: losses[best - 1], patience: 2 });
    expect((await finished).earlyStop).toEqual(run.earlyStop);
    expect(run).toMatchObject({ status: 'completed', epochsCompleted: best + 2 });
    // Early stopping needs something to watch.
    const refused = await dispatch(atelier.handlers, 'training.start', { ...config, validationSplit: 0 }, { shell: 'cli' });
    expect(refused).toMatchObject({ ok: false, error: { kind: 'invalid-payload' } });
    if (!refused.ok) expect(refused.error.message).toMatch(/Early stopping watches the validation loss/);
  }, 120_000);

  it('the learning-rate finder sweeps without saving anything and suggests a rate inside its sweep', async () => {
    const runsBefore = (await atelier.runs.list()).length;
    const sweep = await atelier.training.findLearningRate({ config: { preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 128, validationSplit: 0, seed: 1, trainLimit: null }, batches: 100 });
    expect(sweep.points.length).toBeGreaterThan(20);
    const rates = sweep.points.map((point) => point.rate);
    expect(sweep.suggestion).toBeGreaterThanOrEqual(Math.min(...rates));
    expect(sweep.suggestion).toBeLessThanOrEqual(Math.max(...rates));
    expect(rates).toContain(sweep.suggestion);
    expect((await atelier.runs.list()).length).toBe(runsBefore);
  }, 120_000);
});
