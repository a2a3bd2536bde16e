import { describe, expect, it } from 'vitest';
import { AtelierError } from '../errors';
import { assertCompatible, incompatibility } from './compat';

describe('incompatibility', () => {
  it('accepts 28×28 and 28×28×1 inputs with 10 classes', () => {
    expect(incompatibility([[null, 28, 28]], [[null, 10]])).toBeNull();
    expect(incompatibility([[null, 28, 28, 1]], [[null, 10]])).toBeNull();
  });

  it('says what an ImageNet-shaped model has and what Atelier needs', () => {
    expect(incompatibility([[null, 224, 224, 3]], [[null, 1000]])).toBe(
      'This model takes [224,224,3] images and gives 1000 classes; Atelier needs 28×28 grayscale input ([28,28] or [28,28,1]) and 10 output classes.',
    );
  });

  it('refuses colour, flat, multiple inputs and the wrong outputs', () => {
    expect(incompatibility([[null, 28, 28, 3]], [[null, 10]])).toMatch(/takes \[28,28,3\] images and gives 10 classes/);
    expect(incompatibility([[null, 784]], [[null, 10]])).toMatch(/takes \[784\] images/);
    expect(incompatibility([[null, 28, 28], [null, 4]], [[null, 10]])).toMatch(/takes 2 inputs \(\[28,28\], \[4\]\)/);
    expect(incompatibility([[null, 28, 28]], [[null, 1]])).toMatch(/gives 1 class;/);
    expect(incompatibility([[null, 28, 28]], [[null, 7, 7, 512]])).toMatch(/gives outputs of shape \[7,7,512\]/);
    expect(incompatibility([[null, 28, 28]], [[null, 10], [null, 10]])).toMatch(/gives 2 outputs/);
    expect(incompatibility([[null, null, null, 1]], [[null, 10]])).toMatch(/takes \[\?,\?,1\] images/);
  });

  it('throws model-incompatible', () => {
    expect(() => assertCompatible([[null, 32, 32, 3]], [[null, 10]])).toThrow(AtelierError);
    try {
      assertCompatible([[null, 32, 32, 3]], [[null, 10]]);
    } catch (error) {
      expect((error as AtelierError).kind).toBe('model-incompatible');
    }
  });
});
