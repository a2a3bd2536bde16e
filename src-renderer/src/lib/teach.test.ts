import { describe, expect, it } from 'vitest';
import { parseTeachEpochs, taughtPhrase, teachTimeHint, yourPhotos } from './teach';

describe('teachTimeHint', () => {
  it('scales the measured epoch by the images the parent trained on and by the epochs', () => {
    expect(teachTimeHint('tutorial-mlp', 1, { trainLimit: null })).toMatch(/^Roughly 4 s on a 2-core computer/);
    expect(teachTimeHint('cnn', 1, { trainLimit: null })).toMatch(/^Roughly 1 min 40 s /);
    expect(teachTimeHint('photo-robust', 2, { trainLimit: null })).toMatch(/^Roughly 4 min 20 s /);
    expect(teachTimeHint('cnn', 1, { trainLimit: 6000 })).toMatch(/^Roughly 10 s /);
    // Never "0 s".
    expect(teachTimeHint('tutorial-mlp', 1, { trainLimit: 100 })).toMatch(/^Roughly 1 s /);
  });

  it('says nothing for a model whose time was not measured, or for epochs that are not a count', () => {
    expect(teachTimeHint('some-import', 1, null)).toBeNull();
    expect(teachTimeHint('cnn', 0, null)).toBeNull();
    expect(teachTimeHint('cnn', 1.5, null)).toBeNull();
  });
});

describe('parseTeachEpochs', () => {
  it('takes 1 to 20 whole epochs and says what is wrong otherwise', () => {
    expect(parseTeachEpochs(' 3 ')).toEqual({ epochs: 3, error: null });
    expect(parseTeachEpochs('0').error).toBe('Epochs must be at least 1.');
    expect(parseTeachEpochs('21').error).toMatch(/at most 20/);
    expect(parseTeachEpochs('1.5').error).toBe('Epochs must be a whole number.');
    expect(parseTeachEpochs('').error).toBe('Epochs must be a number.');
  });
});

describe('lineage phrases', () => {
  it('counts your photos, and says so when there were none', () => {
    expect(yourPhotos(1)).toBe('1 of your photos');
    expect(yourPhotos(1234)).toBe('1,234 of your photos');
    expect(taughtPhrase(23)).toBe('taught with 23 of your photos');
    expect(taughtPhrase(0)).toBe('not taught with your photos');
  });
});
