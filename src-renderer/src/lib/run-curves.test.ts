import { describe, expect, it } from 'vitest';
import { earlyStopMarkers, earlyStopSentence, learningRateSeries } from './run-curves';
import { parseMoreEpochs, resumeKind } from './resume';

const epoch = (n: number, learningRate?: number) => ({ epoch: n, loss: 1, accuracy: 0.5, valLoss: null, valAccuracy: null, seconds: 1, samplesPerSecond: 1, ...(learningRate === undefined ? {} : { learningRate }) });

describe('run curves', () => {
  it('draws the rate per epoch, and nothing for runs recorded before rates were', () => {
    expect(learningRateSeries([epoch(1, 0.001), epoch(2, 0.0005)], 'blue')[0]!.points).toEqual([{ x: 1, y: 0.001 }, { x: 2, y: 0.0005 }]);
    expect(learningRateSeries([epoch(1), epoch(2)], 'blue')).toEqual([]);
  });

  it('marks where early stopping stopped and the epoch it kept, and says why', () => {
    const stop = { stoppedAfterEpoch: 7, bestEpoch: 4, bestValLoss: 0.31234, patience: 3 };
    expect(earlyStopMarkers(stop).map((marker) => [marker.x, marker.label])).toEqual([[4, 'best: epoch 4 (kept)'], [7, 'stopped: no better val. loss for 3']]);
    expect(earlyStopSentence(stop)).toBe('Early stopping ended training after epoch 7: the validation loss had not improved for 3 epochs (patience 3). The model of epoch 4 (validation loss 0.3123) is kept.');
    expect(earlyStopSentence({ ...stop, stoppedAfterEpoch: 5 })).toMatch(/^Training ran all its epochs; the validation loss was lowest at epoch 4/);
  });
});

describe('resume', () => {
  const run = { status: 'stopped' as const, origin: 'trained' as const, epochsCompleted: 1, epochsPlanned: 3, checkpointEpoch: 1, earlyStop: null };
  it('offers Resume short of the plan, Train more after it, nothing without a checkpoint or while training', () => {
    expect(resumeKind(run)).toBe('resume');
    expect(resumeKind({ ...run, status: 'failed' })).toBe('resume');
    expect(resumeKind({ ...run, status: 'completed', epochsCompleted: 3, checkpointEpoch: 3 })).toBe('train-more');
    expect(resumeKind({ ...run, status: 'completed', earlyStop: { stoppedAfterEpoch: 2, bestEpoch: 1, bestValLoss: 1, patience: 1 } })).toBe('train-more');
    expect(resumeKind({ ...run, checkpointEpoch: null })).toBeNull();
    expect(resumeKind({ ...run, status: 'running' })).toBeNull();
    expect(resumeKind({ ...run, origin: 'imported' })).toBeNull();
  });

  it('reads the Train more field', () => {
    expect(parseMoreEpochs(' 3 ')).toEqual({ epochs: 3, error: null });
    expect(parseMoreEpochs('0').error).toBe('Train at least 1 more epoch.');
    expect(parseMoreEpochs('1.5').error).toBe('Epochs are whole numbers.');
    expect(parseMoreEpochs('').error).toBe('Type how many more epochs, like 2.');
  });
});

describe('formatRate', () => {
  it('writes rates with two significant digits, tiny ones as powers of ten', async () => {
    const { formatRate } = await import('./format-rate');
    expect(formatRate(0.0051234)).toBe('0.0051');
    expect(formatRate(0.001)).toBe('0.001');
    expect(formatRate(3.2e-7)).toBe('3.2e-7');
    expect(formatRate(1)).toBe('1');
  });
});
