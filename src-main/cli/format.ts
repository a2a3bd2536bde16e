import type { EpochMetrics, Evaluation, LearningRateSweep, RunSummary, SystemInfo } from '../contract';

/** Human-readable System report for the terminal (the `--json` form prints the object as is). */
export function formatSystemInfo(info: SystemInfo): string {
  const lines: string[] = [];
  lines.push(`${info.appName} ${info.appVersion} (${info.shell} shell) on ${info.platform}/${info.arch}, Node ${info.nodeVersion}`);
  lines.push(`Data folder: ${info.dataHome}`);
  lines.push('');
  lines.push(`Engine: ${info.engine.backend ?? 'none'}${info.engine.tfjsVersion ? ` (TensorFlow.js ${info.engine.tfjsVersion})` : ''}`);
  for (const rung of info.engine.ladder) {
    const mark = rung.outcome === 'used' ? '✔' : rung.outcome === 'skipped' ? '✘' : '·';
    lines.push(`  ${mark} ${rung.name.padEnd(15)} ${rung.outcome === 'skipped' ? rung.reason : rung.outcome === 'used' ? 'in use' : 'not needed'}`);
  }
  lines.push('');
  lines.push(`Fashion-MNIST: ${info.dataset.using ? `using ${info.dataset.using}` : 'not found'}`);
  for (const source of info.dataset.sources) {
    lines.push(`  ${source.state === 'found' ? '✔' : '·'} ${source.kind.padEnd(15)} ${source.state.padEnd(10)} ${source.location}`);
  }
  return lines.join('\n');
}

const pct = (value: number | null): string => (value === null ? '—' : `${(value * 100).toFixed(2)}%`);

export function formatEpoch(epoch: EpochMetrics & { epochs: number }): string {
  const validation = epoch.valLoss === null ? '' : ` · val loss ${epoch.valLoss.toFixed(4)} · val accuracy ${pct(epoch.valAccuracy)}`;
  const rate = epoch.learningRate === undefined ? '' : ` · rate ${Number(epoch.learningRate.toPrecision(3))}`;
  return `Epoch ${epoch.epoch}/${epoch.epochs}: loss ${epoch.loss.toFixed(4)} · accuracy ${pct(epoch.accuracy)}${validation}${rate} · ${epoch.seconds.toFixed(1)} s · ${Math.round(epoch.samplesPerSecond)} samples/s`;
}

export function formatEvaluation(evaluation: Evaluation): string {
  const lines = [`Test set (${evaluation.testCount} images): accuracy ${pct(evaluation.accuracy)} · loss ${evaluation.loss.toFixed(4)}`, '', '  class          precision  recall     F1   support'];
  for (const row of evaluation.perClass) {
    lines.push(`  ${row.className.padEnd(13)} ${pct(row.precision).padStart(9)} ${pct(row.recall).padStart(8)} ${pct(row.f1).padStart(7)} ${String(row.support).padStart(8)}`);
  }
  return lines.join('\n');
}

/** What `runs` shows under a run besides its summary: the run it was taught from, and how many photos it trained on. */
export interface RunLineage {
  parentRunId: string | null;
  photos: number;
}

export function formatRuns(runs: RunSummary[], lineage: ReadonlyMap<string, RunLineage> = new Map()): string {
  if (runs.length === 0) return 'No runs yet. Train one with ‘atelier train’.';
  const nameWidth = Math.max(4, ...runs.map((run) => run.name.length));
  const lines = [`  ${'name'.padEnd(nameWidth)} id                               backend  epochs  duration  test acc  status`];
  for (const run of runs) {
    // An import was never trained here: the epochs it brought, or '—' rather than a misleading 0/0.
    const epochs = run.origin === 'imported' ? (run.epochsCompleted > 0 ? String(run.epochsCompleted) : '—') : `${run.epochsCompleted}/${run.epochsPlanned}`;
    const status = run.origin === 'imported' ? `imported, ${run.status}` : run.status;
    lines.push(
      `${run.active ? '*' : ' '} ${run.name.padEnd(nameWidth)} ${run.id.padEnd(32)} ${(run.backend ?? '—').padEnd(8)} ${epochs.padStart(6)} ${`${Math.round(run.durationSeconds)} s`.padStart(9)} ${pct(run.testAccuracy).padStart(9)}  ${status}`,
    );
    const { parentRunId = null, photos = 0 } = lineage.get(run.id) ?? {};
    const withPhotos = photos > 0 ? `${photos} photo${photos === 1 ? '' : 's'}` : '';
    if (parentRunId) {
      const parent = runs.find((candidate) => candidate.id === parentRunId);
      lines.push(`    ↳ taught from ${parent ? `${parent.name} (${parentRunId})` : `${parentRunId} (deleted)`}${withPhotos ? ` with ${withPhotos}` : ''}`);
    } else if (withPhotos) {
      lines.push(`    ↳ trained with ${withPhotos}`);
    }
  }
  return lines.join('\n');
}

/** A learning-rate sweep as a short table (every tenth point and the last) and the suggestion. */
export function formatSweep(sweep: LearningRateSweep): string {
  const every = Math.max(1, Math.round(sweep.points.length / 12));
  const rows = sweep.points.filter((_, i) => i % every === 0 || i === sweep.points.length - 1);
  const rate = (value: number): string => value.toExponential(2);
  const lines = ['  rate        loss    smoothed', ...rows.map((point) => `  ${rate(point.rate).padEnd(10)} ${point.loss.toFixed(4).padStart(7)} ${point.smoothed.toFixed(4).padStart(10)}`)];
  const end = sweep.stoppedEarly ? `stopped after ${sweep.points.length} of ${sweep.batches} batches, when the loss blew up` : `${sweep.points.length} batches`;
  lines.push('', `Suggested learning rate: ${Number(sweep.suggestion.toPrecision(2))} (where the smoothed loss falls fastest; ${end}, ${sweep.seconds.toFixed(1)} s).`);
  lines.push(`Use it with --learning-rate ${Number(sweep.suggestion.toPrecision(2))}.`);
  return lines.join('\n');
}
