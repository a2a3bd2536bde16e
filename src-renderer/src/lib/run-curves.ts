/**
 * What the run charts add for issue 17, as plain functions: the learning rate per epoch as a curve,
 * and early stopping as markers and a sentence that say where and why it stopped.
 */
import type { EarlyStop, EpochMetrics } from '../../../src-main/contract';
import type { ChartMarker, ChartSeries } from '../components/LineChart.svelte';

export const EARLY_STOP_COLOR = '#e5534b';
export const BEST_EPOCH_COLOR = '#57ab5a';

/** The rate of each epoch's first batch; empty for runs recorded before rates were (nothing to draw). */
export function learningRateSeries(epochs: readonly EpochMetrics[], color: string): ChartSeries[] {
  const points = epochs.flatMap((epoch) => (epoch.learningRate === undefined ? [] : [{ x: epoch.epoch, y: epoch.learningRate }]));
  return points.length === 0 ? [] : [{ label: 'learning rate', color, points, pointRadius: 3 }];
}

/** A line where training stopped and one at the epoch whose weights were kept. */
export function earlyStopMarkers(stop: EarlyStop): ChartMarker[] {
  const markers: ChartMarker[] = [{ x: stop.bestEpoch, label: `best: epoch ${stop.bestEpoch} (kept)`, color: BEST_EPOCH_COLOR }];
  if (stop.stoppedAfterEpoch !== stop.bestEpoch) markers.push({ x: stop.stoppedAfterEpoch, label: `stopped: no better val. loss for ${stop.stoppedAfterEpoch - stop.bestEpoch}`, color: EARLY_STOP_COLOR });
  return markers;
}

export function earlyStopSentence(stop: EarlyStop): string {
  const since = stop.stoppedAfterEpoch - stop.bestEpoch;
  const epochs = (n: number): string => `${n} epoch${n === 1 ? '' : 's'}`;
  const why =
    since >= stop.patience
      ? `Early stopping ended training after epoch ${stop.stoppedAfterEpoch}: the validation loss had not improved for ${epochs(since)} (patience ${stop.patience}).`
      : `Training ran all its epochs; the validation loss was lowest at epoch ${stop.bestEpoch}.`;
  return `${why} The model of epoch ${stop.bestEpoch} (validation loss ${stop.bestValLoss.toFixed(4)}) is kept.`;
}
