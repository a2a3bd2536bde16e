import { describe, expect, it } from 'vitest';
import { sampleLoss, selectSamples } from './samples';

const CLASSES = 3;
/**
 * Six images, three classes. p(true class) per image: 0.5, 0.1, 0.9, 0.1, 0, 0 — so the losses are
 * ln 2, ln 10, ln(10/9), ln 10, ∞, ∞: worst first is 4, 5 (tied at ∞), 1, 3 (tied at ln 10), 0, 2.
 */
const labels = [0, 1, 2, 0, 1, 2];
const probabilities = new Float32Array([
  0.5, 0.3, 0.2, // 0: true 0, predicted 0 (right)
  0.8, 0.1, 0.1, // 1: true 1, predicted 0 (wrong)
  0.05, 0.05, 0.9, // 2: true 2, predicted 2 (right)
  0.1, 0.9, 0, // 3: true 0, predicted 1 (wrong)
  1, 0, 0, // 4: true 1, predicted 0 (wrong, p = 0)
  0, 1, 0, // 5: true 2, predicted 1 (wrong, p = 0)
]);

describe('selectSamples', () => {
  it('keeps test-set order by default', () => {
    expect(selectSamples(probabilities, labels, 6, CLASSES, undefined)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('puts the highest loss first, ties (p = 0 included) broken by index', () => {
    expect(selectSamples(probabilities, labels, 6, CLASSES, undefined, 'loss')).toEqual([4, 5, 1, 3, 0, 2]);
  });

  it('sorts only the images the filter keeps: the worst mistakes, and the worst of one true class', () => {
    const mistakes = { trueClass: null, predictedClass: null, correct: false };
    expect(selectSamples(probabilities, labels, 6, CLASSES, mistakes, 'loss')).toEqual([4, 5, 1, 3]);
    expect(selectSamples(probabilities, labels, 6, CLASSES, { trueClass: 0, predictedClass: null, correct: null }, 'loss')).toEqual([3, 0]);
  });

  it('reads only the first `count` images', () => {
    expect(selectSamples(probabilities, labels, 3, CLASSES, undefined, 'loss')).toEqual([1, 0, 2]);
  });
});

describe('sampleLoss', () => {
  it('is −log p(true class)', () => {
    expect(sampleLoss(probabilities, 1, 1, CLASSES)).toBeCloseTo(Math.log(10), 6);
    expect(sampleLoss(probabilities, 4, 1, CLASSES)).toBe(Infinity);
  });
});
