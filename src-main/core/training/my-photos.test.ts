/**
 * Training with My photos and teaching a model through the whole core: the real engine worker,
 * the real collection store with the repository's test photos, runs on disk in a temporary home.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtelier, type Atelier } from '../../app';
import { DEFAULT_PHOTO_SHARE, type EventPayload, type TrainingConfig } from '../../contract';
import { dispatch } from '../../dispatch';
import { engineWorkerUrl } from '../../locations';
import { PhotoCollection } from '../collection/store';
import { findDataset } from '../dataset/sources';
import { loadDataset, type FashionMnist } from '../dataset/store';
import { lossAndAccuracy } from '../evaluation/metrics';
import { CLASS_COUNT } from '../fashion-mnist';
import { loadModel, saveModel } from '../engine/model-io';
import { predictProbabilities } from '../engine/tensors';
import { TrainingSamples } from '../engine/train';
import { testPhoto } from '../photos/test-photos';
import { loadCollectionForTraining, photosForEngine } from './photos';

const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(SYSTEM_DIR);

const quick = (patch: Partial<TrainingConfig> = {}): TrainingConfig => ({
  preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 32, validationSplit: 0, seed: 3, trainLimit: 500, ...patch,
});

describe.skipIf(!haveData)('My photos in training (real worker, real data, real collection)', () => {
  let home: string;
  let atelier: Atelier;
  let collection: PhotoCollection;
  let data: FashionMnist;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'atelier-my-photos-'));
    atelier = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home, preferBackend: 'wasm', datasetSources: { env: {} } });
    collection = new PhotoCollection(home);
    await tf.setBackend('wasm');
    await tf.ready();
    data = await loadDataset((await findDataset({ env: {}, home: '/nonexistent-atelier-home', systemDir: SYSTEM_DIR }))!);
  });

  afterAll(async () => {
    await atelier.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses to train with My photos while the collection is empty, before any run exists', async () => {
    const result = await dispatch(atelier.handlers, 'training.start', quick({ myPhotos: { share: 0.1 } }), { shell: 'cli' });
    expect(result).toMatchObject({ ok: false, error: { kind: 'not-found', message: expect.stringMatching(/My photos has no photos yet/) } });
    expect(await atelier.runs.list()).toEqual([]);
  });

  let parentId: string;

  it('trains with the photos mixed in and records exactly which photos, with their labels', async () => {
    const added = [
      ...(await collection.add([testPhoto('t-shirt')], 0)).added,
      ...(await collection.add([testPhoto('pants')], 1)).added,
      ...(await collection.add([testPhoto('dress')], 3)).added,
      ...(await collection.add([testPhoto('shoes', 0), testPhoto('shoes', 1)], 7)).added,
    ];
    expect(added).toHaveLength(5);
    const { runId } = await atelier.training.start(quick({ myPhotos: { share: 0.2 } }));
    await atelier.training.settled();
    const run = await atelier.runs.detail(runId);
    expect(run).toMatchObject({ status: 'completed', hasModel: true, parentRunId: null, config: { myPhotos: { share: 0.2 } } });
    const expected = added.map(({ id, sha256, label }) => ({ id, sha256, label })).sort((a, b) => a.sha256.localeCompare(b.sha256));
    expect(run.photos).toEqual(expected);
    parentId = runId;
  });

  let plainId: string;

  it('lists no photos and no parent for a run without My photos', async () => {
    const { runId } = await atelier.training.start(quick({ trainLimit: 100 }));
    await atelier.training.settled();
    expect(await atelier.runs.detail(runId)).toMatchObject({ status: 'completed', photos: [], parentRunId: null });
    plainId = runId;
  });

  it('teaches a run trained without photos at the default share, for the epochs asked', async () => {
    const { runId } = await atelier.training.teach({ runId: plainId, epochs: 2 });
    await atelier.training.settled();
    const child = await atelier.runs.detail(runId);
    expect(child).toMatchObject({ status: 'completed', parentRunId: plainId, epochsCompleted: 2, config: { trainLimit: 100, epochs: 2, myPhotos: { share: DEFAULT_PHOTO_SHARE } } });
    expect(child.photos).toHaveLength(5);
  });

  it('teaches a run: the child starts from the parent’s weights (first-batch loss = the parent’s loss on that batch) and records its parent', async () => {
    // Every run's first batch (the loop always reports it), so none can pass before the child's id is known.
    const firstBatches = new Map<string, EventPayload<'training.batch'>>();
    const off = atelier.events.subscribe((name, payload) => {
      const batch = payload as EventPayload<'training.batch'>;
      if (name === 'training.batch' && batch.epoch === 1 && batch.batch === 1) firstBatches.set(batch.runId, batch);
    });
    const taught = await dispatch(atelier.handlers, 'training.teach', { runId: parentId }, { shell: 'cli' });
    if (!taught.ok) throw new Error(taught.error.message);
    const childId = (taught.value as { runId: string }).runId;
    await atelier.training.settled();
    off();
    const firstBatch = firstBatches.get(childId);

    const parent = await atelier.runs.detail(parentId);
    const child = await atelier.runs.detail(childId);
    expect(child).toMatchObject({ status: 'completed', hasModel: true, parentRunId: parentId, preset: 'tutorial-mlp', epochsCompleted: 1 });
    expect(child.config).toEqual({ ...parent.config, epochs: 1, myPhotos: { share: 0.2 } });
    expect(child.photos).toEqual(parent.photos);
    expect(firstBatch).toBeDefined();

    // The batch the child saw first, rebuilt from the same config, data and photos, through the parent's saved model.
    const extra = photosForEngine(await loadCollectionForTraining(collection), child.config!.myPhotos!.share);
    const samples = new TrainingSamples(child.config!, data.train, { extra });
    const order = samples.nextEpoch();
    const size = Math.min(child.config!.batchSize, samples.perEpoch);
    const pixels = samples.batchPixels(order, 0, size);
    const labels = samples.batchLabels(order, 0, size);
    const model = await loadModel(tf, atelier.runs.modelDir(parentId));
    const probabilities = await predictProbabilities(tf, model, size, (start, end) => pixels.subarray(start * 784, end * 784));
    model.dispose();
    const parentLoss = lossAndAccuracy(probabilities, labels, CLASS_COUNT).loss;
    expect(firstBatch!.loss).toBeCloseTo(parentLoss, 4);
    // A fresh model would be near ln 10 ≈ 2.30 (one epoch on 500 images leaves the parent near 1.6).
    expect(parentLoss).toBeLessThan(2);
  });

  it('refuses to teach a run without a model, an import without its settings, or a model that ends in logits', async () => {
    const { runs } = atelier;
    const empty = await runs.create({ config: quick(), preset: 'tutorial-mlp', backend: 'wasm', origin: 'trained', epochsPlanned: 1 });
    await runs.update(empty.id, { status: 'stopped' });
    await expect(atelier.training.teach({ runId: empty.id })).rejects.toMatchObject({ kind: 'no-model', message: expect.stringMatching(/has no saved model to teach/) });

    const imported = await runs.create({ config: null, preset: 'imported', backend: null, origin: 'imported', name: 'Someone’s model', epochsPlanned: 0 });
    cpSync(runs.modelDir(parentId), runs.modelDir(imported.id), { recursive: true });
    await expect(atelier.training.teach({ runId: imported.id })).rejects.toMatchObject({ kind: 'model-incompatible', message: expect.stringMatching(/imported without its training settings/) });

    // A model whose last layer gives logits: the loss would be wrong, so the engine says why.
    const logits = await runs.create({ config: quick(), preset: 'tutorial-mlp', backend: 'wasm', origin: 'imported', name: 'Logits', epochsPlanned: 1 });
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.dense({ units: 10 })] });
    await saveModel(tf, model, runs.modelDir(logits.id), 'e1');
    model.dispose();
    await expect(atelier.training.teach({ runId: logits.id })).rejects.toMatchObject({ kind: 'model-incompatible', message: expect.stringMatching(/does not end in a softmax/) });

    const before = (await runs.list()).length;
    await collection.remove((await collection.list()).entries.map((entry) => entry.id));
    await expect(atelier.training.teach({ runId: parentId })).rejects.toMatchObject({ kind: 'not-found', message: expect.stringMatching(/My photos has no photos yet/) });
    expect((await runs.list()).length).toBe(before);
  });
});
