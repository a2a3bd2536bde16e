import { describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../../src-main/contract';
import { FORM_STORAGE_KEY, formFromConfig, withPreset, loadForm, parseForm, saveForm, type TrainForm } from './train-form';
import { runFraction } from './training-progress';

const TUTORIAL: TrainingConfig = {
  preset: 'tutorial-mlp',
  epochs: 5,
  batchSize: 32,
  learningRate: 0.001,
  hiddenUnits: 128,
  validationSplit: 0,
  seed: 1,
  trainLimit: null,
};

function edit(form: TrainForm, values: Partial<TrainForm['values']>): TrainForm {
  return { ...form, values: { ...form.values, ...values } };
}

describe('parseForm', () => {
  it('gives back the config a form was made from', () => {
    expect(parseForm(formFromConfig(TUTORIAL))).toEqual({ config: TUTORIAL, errors: null });
    const limited = { ...TUTORIAL, preset: 'cnn' as const, trainLimit: 2000, validationSplit: 0.1 };
    expect(parseForm(formFromConfig(limited)).config).toEqual(limited);
  });

  it('reads an empty first-N field as all images, and trims spaces', () => {
    const form = edit(formFromConfig(TUTORIAL), { trainLimit: '  ', epochs: ' 3 ', learningRate: '1e-3' });
    expect(parseForm(form).config).toEqual({ ...TUTORIAL, epochs: 3, trainLimit: null });
  });

  it("names each wrong field with the contract's message", () => {
    const form = edit(formFromConfig(TUTORIAL), { epochs: '0', batchSize: '', learningRate: '2', hiddenUnits: '1.5', trainLimit: '70000' });
    const result = parseForm(form);
    expect(result.config).toBeNull();
    expect(result.errors).toEqual({
      epochs: 'Epochs must be at least 1.',
      batchSize: 'Batch size must be a number.',
      learningRate: 'Learning rate can be at most 1 (try 0.001).',
      hiddenUnits: 'Hidden units must be a whole number.',
      trainLimit: expect.stringContaining('60,000'),
    });
  });

  it('rejects words where numbers belong', () => {
    expect(parseForm(edit(formFromConfig(TUTORIAL), { seed: 'abc' })).errors).toEqual({ seed: 'Seed must be a number.' });
    expect(parseForm(edit(formFromConfig(TUTORIAL), { trainLimit: '50' })).errors).toEqual({ trainLimit: 'Use at least 100 training images.' });
  });
});

describe('saved form', () => {
  function memoryStorage(): Storage & { data: Map<string, string> } {
    const data = new Map<string, string>();
    return {
      data,
      length: 0,
      clear: () => data.clear(),
      key: () => null,
      getItem: (key) => data.get(key) ?? null,
      setItem: (key, value) => void data.set(key, value),
      removeItem: (key) => void data.delete(key),
    };
  }

  it('round-trips, including values that are not valid yet', () => {
    const storage = memoryStorage();
    const form = edit(formFromConfig(TUTORIAL), { epochs: '0', trainLimit: '2000' });
    saveForm(storage, form);
    expect(loadForm(storage)).toEqual(form);
  });

  it('ignores missing, damaged or incomplete entries', () => {
    const storage = memoryStorage();
    expect(loadForm(storage)).toBeNull();
    storage.data.set(FORM_STORAGE_KEY, '{not json');
    expect(loadForm(storage)).toBeNull();
    storage.data.set(FORM_STORAGE_KEY, JSON.stringify({ preset: 'resnet', values: formFromConfig(TUTORIAL).values }));
    expect(loadForm(storage)).toBeNull();
    const { seed: _seed, ...partial } = formFromConfig(TUTORIAL).values;
    storage.data.set(FORM_STORAGE_KEY, JSON.stringify({ preset: 'cnn', values: partial }));
    expect(loadForm(storage)).toBeNull();
    expect(loadForm(undefined)).toBeNull();
  });
});

describe('runFraction', () => {
  it('counts finished epochs and the batches of the current one', () => {
    expect(runFraction({ epoch: 1, epochs: 2, batch: 0, batches: 10 })).toBe(0);
    expect(runFraction({ epoch: 1, epochs: 2, batch: 5, batches: 10 })).toBe(0.25);
    expect(runFraction({ epoch: 2, epochs: 2, batch: 10, batches: 10 })).toBe(1);
    expect(runFraction({ epoch: 1, epochs: 0, batch: 1, batches: 1 })).toBe(0);
  });
});

describe('training with My photos', () => {
  const on = (sharePercent: string): TrainForm => ({ ...formFromConfig(TUTORIAL), photos: { enabled: true, sharePercent } });

  it('mixes the photos in at the share typed in percent, only when there are photos', () => {
    expect(parseForm(on('10'), true).config).toEqual({ ...TUTORIAL, myPhotos: { share: 0.1 } });
    expect(parseForm(on(' 25 % '), true).config).toEqual({ ...TUTORIAL, myPhotos: { share: 0.25 } });
    expect(parseForm(on('1'), true).config?.myPhotos).toEqual({ share: 0.01 });
    expect(parseForm(on('50'), true).config?.myPhotos).toEqual({ share: 0.5 });
    // An empty collection: the option shows off and the config trains on Fashion-MNIST only.
    expect(parseForm(on('10'), false)).toEqual({ config: TUTORIAL, errors: null });
    // Off: the share is not even read.
    expect(parseForm({ ...on('junk'), photos: { enabled: false, sharePercent: 'junk' } }, true)).toEqual({ config: TUTORIAL, errors: null });
  });

  it('explains a share outside 1–50 % in percent, next to the other fields', () => {
    expect(parseForm(on('0.5'), true).errors).toEqual({ photoShare: expect.stringContaining('at least 1 %') });
    expect(parseForm(on('60'), true).errors).toEqual({ photoShare: expect.stringContaining('at most 50 %') });
    expect(parseForm(on(''), true).errors).toEqual({ photoShare: 'The share of photos must be a number of percent, like 10.' });
    expect(parseForm(edit(on('90'), { epochs: '0' }), true).errors).toEqual({ photoShare: expect.stringContaining('50 %'), epochs: 'Epochs must be at least 1.' });
  });

  it('starts from 10 % and off, and round-trips a run config with photos', () => {
    expect(formFromConfig(TUTORIAL).photos).toEqual({ enabled: false, sharePercent: '10' });
    const withPhotos = { ...TUTORIAL, myPhotos: { share: 0.15 } };
    expect(formFromConfig(withPhotos).photos).toEqual({ enabled: true, sharePercent: '15' });
    expect(parseForm(formFromConfig(withPhotos), true).config).toEqual(withPhotos);
  });

  it('reads a form saved before the option as off at 10 %', () => {
    const data = new Map<string, string>([[FORM_STORAGE_KEY, JSON.stringify({ preset: 'cnn', values: formFromConfig(TUTORIAL).values })]]);
    const storage = { getItem: (key: string) => data.get(key) ?? null };
    expect(loadForm(storage)?.photos).toEqual({ enabled: false, sharePercent: '10' });
    data.set(FORM_STORAGE_KEY, JSON.stringify({ preset: 'cnn', values: formFromConfig(TUTORIAL).values, photos: { enabled: true, sharePercent: '30' } }));
    expect(loadForm(storage)?.photos).toEqual({ enabled: true, sharePercent: '30' });
  });
});

describe('parseForm: learning-rate schedules and early stopping', () => {
  it('round-trips every schedule and early stopping through the form', () => {
    for (const schedule of [{ kind: 'step', everyEpochs: 3, factor: 0.2 }, { kind: 'cosine' }, { kind: 'one-cycle' }] as const) {
      const config = { ...TUTORIAL, validationSplit: 0.1, schedule, earlyStopping: { patience: 4 } };
      expect(parseForm(formFromConfig(config))).toEqual({ config, errors: null });
    }
    // Constant is the tutorial's and stays out of the config, as before schedules.
    expect(parseForm({ ...formFromConfig(TUTORIAL), schedule: { kind: 'constant', everyEpochs: 'x', factor: 'y' } }).config).toEqual(TUTORIAL);
  });

  it('puts the step fields’ and patience’s messages next to them, and asks for a validation split for early stopping', () => {
    const form = { ...formFromConfig({ ...TUTORIAL, validationSplit: 0.1 }), schedule: { kind: 'step' as const, everyEpochs: '0', factor: '1.5' }, earlyStopping: { enabled: true, patience: '0' } };
    expect(parseForm(form).errors).toEqual({
      everyEpochs: 'Step every … epochs must be at least 1.',
      factor: 'The step factor must be below 1 (it lowers the rate).',
      patience: 'Patience must be at least 1 epoch.',
    });
    const noSplit = { ...formFromConfig(TUTORIAL), earlyStopping: { enabled: true, patience: '3' } };
    expect(parseForm(noSplit).errors?.earlyStopping).toMatch(/set a validation split above 0/);
  });

  it('reads a form saved before schedules as constant, early stopping off', () => {
    const old = { preset: 'cnn', values: formFromConfig(TUTORIAL).values, photos: { enabled: false, sharePercent: '10' } };
    const loaded = loadForm({ getItem: () => JSON.stringify(old) });
    expect(loaded?.schedule.kind).toBe('constant');
    expect(loaded?.earlyStopping.enabled).toBe(false);
  });
});

describe('withPreset', () => {
  it("takes the picked preset's recipe and keeps what concerns the data and the run", () => {
    const tutorial: TrainingConfig = { preset: 'tutorial-mlp', epochs: 5, batchSize: 32, learningRate: 0.001, hiddenUnits: 128, validationSplit: 0, seed: 42, trainLimit: null };
    const best: TrainingConfig = { ...tutorial, preset: 'best', epochs: 12, batchSize: 128, learningRate: 0.003, hiddenUnits: 256, schedule: { kind: 'one-cycle' } };
    const mine = edit(formFromConfig(tutorial), { trainLimit: '6000', validationSplit: '0.1', seed: '7', learningRate: '0.01' });
    const picked = withPreset(mine, best);
    expect(parseForm(picked).config).toEqual({ ...best, trainLimit: 6000, validationSplit: 0.1, seed: 7 });
    // And back: the tutorial's constant rate and batch 32 again.
    expect(parseForm(withPreset(picked, tutorial)).config).toEqual({ ...tutorial, trainLimit: 6000, validationSplit: 0.1, seed: 7 });
  });
});
