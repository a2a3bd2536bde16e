/**
 * Scores from predicted probabilities: loss, accuracy, confusion matrix and per-class
 * precision / recall / F1. Pure functions over typed arrays, shared by training (validation),
 * evaluation and tests.
 */
import type { ClassScores } from '../../contract';

export interface Scores {
  loss: number;
  accuracy: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  perClass: ClassScores[];
}

/** Index of the largest of `classes` values starting at `offset`. */
export function argmax(values: ArrayLike<number>, offset = 0, classes = values.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let k = 0; k < classes; k++) {
    const value = values[offset + k]!;
    if (value > bestValue) {
      bestValue = value;
      best = k;
    }
  }
  return best;
}

/**
 * Mean sparse categorical cross-entropy and accuracy of `probabilities` (n × classes, row-major)
 * against integer `labels`. Probabilities are clipped like Keras (1e-7) so a confident mistake
 * costs a large but finite loss.
 */
export function lossAndAccuracy(probabilities: Float32Array, labels: ArrayLike<number>, classes: number): { loss: number; accuracy: number } {
  const n = labels.length;
  if (n === 0) return { loss: 0, accuracy: 0 };
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    const p = Math.min(Math.max(probabilities[i * classes + label]!, 1e-7), 1 - 1e-7);
    loss -= Math.log(p);
    if (argmax(probabilities, i * classes, classes) === label) correct++;
  }
  return { loss: loss / n, accuracy: correct / n };
}

export function confusionMatrix(probabilities: Float32Array, labels: ArrayLike<number>, classes: number): number[][] {
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    matrix[labels[i]!]![argmax(probabilities, i * classes, classes)]! += 1;
  }
  return matrix;
}

/** Precision, recall and F1 per class from a confusion matrix; 0 where undefined (no predictions). */
export function classScores(confusion: number[][], classNames: readonly string[]): ClassScores[] {
  const classes = confusion.length;
  return confusion.map((row, k) => {
    const truePositives = row[k]!;
    const support = row.reduce((sum, value) => sum + value, 0);
    let predicted = 0;
    for (let t = 0; t < classes; t++) predicted += confusion[t]![k]!;
    const precision = predicted === 0 ? 0 : truePositives / predicted;
    const recall = support === 0 ? 0 : truePositives / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { classIndex: k, className: classNames[k] ?? String(k), precision, recall, f1, support };
  });
}

export function score(probabilities: Float32Array, labels: ArrayLike<number>, classNames: readonly string[]): Scores {
  const classes = classNames.length;
  const { loss, accuracy } = lossAndAccuracy(probabilities, labels, classes);
  const confusion = confusionMatrix(probabilities, labels, classes);
  return { loss, accuracy, confusion, perClass: classScores(confusion, classNames) };
}
