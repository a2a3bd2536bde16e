/**
 * Which test images `evaluation.samples` lists, and in what order: filtered by true class,
 * predicted class and right/wrong, in test-set order or worst first. Pure functions over the stored
 * probabilities (n × classes, row-major) and the test labels.
 */
import { argmax } from './metrics';

export interface SampleFilter {
  trueClass: number | null;
  predictedClass: number | null;
  correct: boolean | null;
}

/** 'index': test-set order. 'loss': highest loss first (−log p(true class)), ties by index. */
export type SampleOrder = 'index' | 'loss';

/** −log p(true class) of one image: how much the model was surprised by the right answer (Infinity for p = 0). */
export function sampleLoss(probabilities: ArrayLike<number>, index: number, label: number, classes: number): number {
  return -Math.log(probabilities[index * classes + label]!);
}

/** Indices of the first `count` images that match `filter`, in `order`. */
export function selectSamples(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  count: number,
  classes: number,
  filter: SampleFilter | undefined,
  order: SampleOrder = 'index',
): number[] {
  const matching: number[] = [];
  for (let index = 0; index < count; index++) {
    const label = labels[index]!;
    const predicted = argmax(probabilities, index * classes, classes);
    if (filter?.trueClass != null && label !== filter.trueClass) continue;
    if (filter?.predictedClass != null && predicted !== filter.predictedClass) continue;
    if (filter?.correct != null && (label === predicted) !== filter.correct) continue;
    matching.push(index);
  }
  if (order === 'index') return matching;
  const losses = new Map(matching.map((index) => [index, sampleLoss(probabilities, index, labels[index]!, classes)]));
  // Compared, not subtracted: two images with p(true) = 0 both cost Infinity, and Infinity − Infinity is NaN.
  return matching.sort((a, b) => {
    const lossA = losses.get(a)!;
    const lossB = losses.get(b)!;
    if (lossA !== lossB) return lossA > lossB ? -1 : 1;
    return a - b;
  });
}
