import { describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../../src-main/contract';
import { FORM_STORAGE_KEY, formFromConfig, loadForm, parseForm, saveForm, type TrainForm } from './train-form';
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
