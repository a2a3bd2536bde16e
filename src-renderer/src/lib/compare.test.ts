import { describe, expect, it } from 'vitest';
import type { Evaluation, RunDetail, RunSummary, TrainingConfig } from '../../../src-main/contract';
import { confusionDifference, formatPoints, formatSigned, scoreRows, settingRows, UNKNOWN_SETTING, type ComparedRun } from './compare';

const config: TrainingConfig = { preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 128, validationSplit: 0, seed: 1, trainLimit: 1000, myPhotos: null };

function run(id: string, changes: Partial<TrainingConfig> | null, parentRunId: string | null = null): ComparedRun {
  const summary = { id, name: id, preset: 'tutorial-mlp', parentRunId } as RunSummary;
  return { summary, detail: { ...summary, config: changes === null ? null : { ...config, ...changes }, metrics: [], photos: [] } as RunDetail };
}

function evaluation(accuracy: number, f1: number[]): Evaluation {
  return {
    accuracy,
    perClass: f1.map((value, classIndex) => ({ classIndex, className: `class ${classIndex}`, precision: 0, recall: 0, f1: value, support: 0 })),
  } as unknown as Evaluation;
}

describe('settingRows', () => {
  it('marks only the settings that differ between the runs', () => {
    const rows = settingRows([run('a', {}), run('b', { seed: 2 }), run('c', { seed: 2 })], () => null);
    expect(rows.filter((row) => row.differs).map((row) => row.label)).toEqual(['Seed']);
    expect(rows.find((row) => row.label === 'Seed')!.values).toEqual(['1', '2', '2']);
    expect(rows.find((row) => row.label === 'Training images')!.values).toEqual(['first 1,000', 'first 1,000', 'first 1,000']);
  });

  it('names the parent, says when it was deleted, and says what an import without settings does not know', () => {
    const rows = settingRows([run('a', {}, 'p1'), run('b', { myPhotos: { share: 0.1 } }, 'gone'), run('c', null)], (id) => (id === 'p1' ? 'Tutorial MLP #1' : null));
    expect(rows.find((row) => row.label === 'Parent')!.values).toEqual(['Tutorial MLP #1', 'a deleted run', 'none']);
    expect(rows.find((row) => row.label === 'My photos share')!.values).toEqual(['none', '10 %', UNKNOWN_SETTING]);
    expect(rows.find((row) => row.label === 'Preset')!.differs).toBe(false);
  });
});

describe('scoreRows', () => {
  it('gives accuracy and each class F1 with deltas against the first run, none where a run has no evaluation', () => {
    const rows = scoreRows([evaluation(0.8, [0.5, 0.9]), evaluation(0.85, [0.4, 0.9]), null]);
    expect(rows.map((row) => row.label)).toEqual(['Test accuracy', 'F1 class 0', 'F1 class 1']);
    expect(rows[0]!.deltas[0]).toBeNull();
    expect(rows[0]!.deltas[1]).toBeCloseTo(0.05, 10);
    expect(rows[0]!.deltas[2]).toBeNull();
    expect(rows[1]!.deltas[1]).toBeCloseTo(-0.1, 10);
    expect(rows[2]!.values).toEqual([0.9, 0.9, null]);
  });

  it('has no deltas when the first run has no evaluation', () => {
    expect(scoreRows([null, evaluation(0.7, [0.1])])[0]!.deltas).toEqual([null, null]);
  });
});

describe('confusionDifference', () => {
  it('is B − A cell by cell', () => {
    expect(confusionDifference([[5, 1], [2, 3]], [[6, 0], [2, 4]])).toEqual([[1, -1], [0, 1]]);
  });

  it('refuses matrices of different sizes', () => {
    expect(() => confusionDifference([[1]], [[1, 0], [0, 1]])).toThrow(/differ in size/);
  });
});

describe('formatting', () => {
  it('signs points and counts with a real minus', () => {
    expect(formatPoints(0.0123)).toBe('+1.2 pts');
    expect(formatPoints(-0.004)).toBe('−0.4 pts');
    expect(formatPoints(0.00001)).toBe('±0.0 pts');
    expect(formatSigned(12)).toBe('+12');
    expect(formatSigned(-3)).toBe('−3');
    expect(formatSigned(0)).toBe('0');
  });
});
