import { describe, expect, it } from 'vitest';
import { checkModelFiles, MAX_UPLOAD_BYTES } from './model-files';

describe('checkModelFiles', () => {
  it('accepts model.json with its weights (and the metadata beside them)', () => {
    expect(checkModelFiles([{ name: 'model.json', size: 7000 }, { name: 'weights.bin', size: 900_000 }, { name: 'atelier-model.json', size: 3000 }])).toBeNull();
    expect(checkModelFiles([{ name: 'my-model.json', size: 7000 }, { name: 'group1-shard1of2.bin', size: 4_000_000 }, { name: 'group1-shard2of2.bin', size: 1_000 }])).toBeNull();
  });

  it('says what is missing', () => {
    expect(checkModelFiles([])).toMatch(/Choose model.json/);
    expect(checkModelFiles([{ name: 'weights.bin', size: 1 }])).toMatch(/Include model.json/);
    expect(checkModelFiles([{ name: 'atelier-model.json', size: 1 }, { name: 'weights.bin', size: 1 }])).toMatch(/Include model.json/);
    expect(checkModelFiles([{ name: 'model.json', size: 1 }])).toMatch(/weight files \(\.bin\)/);
  });

  it('refuses more than one message can carry, pointing to the CLI', () => {
    expect(checkModelFiles([{ name: 'model.json', size: 1 }, { name: 'weights.bin', size: MAX_UPLOAD_BYTES }])).toMatch(/at most 40 MB.*atelier import/);
  });
});
