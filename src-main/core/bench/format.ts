import type { BenchReport } from './run';
import type { TrainingStepper } from '../engine/train';
import { formatBytes, formatMs, formatPercent, formatRate, formatRatio, textTable } from './stats';

/** The report as a person reads it in a terminal (and as the README's table shows it). */
export function formatBenchReport(report: BenchReport): string {
  const { machine, settings } = report;
  const lines: string[] = [];
  const torch = machine.pytorchVersion ? `PyTorch ${machine.pytorchVersion}` : 'no PyTorch';
  lines.push(
    `Atelier benchmark, ${report.date.slice(0, 16).replace('T', ' ')} UTC — ${machine.cores} × ${machine.cpuModel}, Node ${machine.node}, ` +
      `tfjs ${machine.tfjsVersion ?? '?'}, ${torch}; load average ${machine.loadAverageAtStart[0] ?? '?'} at start, ${machine.loadAverageAtEnd[0] ?? '?'} at end`,
  );
  const cnnSlices = Object.entries(settings.cnnSamples)
    .map(([who, n]) => `${who} ${n.toLocaleString('en-US')}`)
    .join(', ');
  lines.push(
    `Batch ${settings.batchSize}, ${settings.optimizer}. Samples/s of the fastest full epoch (MLP: ${settings.mlpSamples.toLocaleString('en-US')} images; ` +
      `CNN: one epoch of the first N images: ${cnnSlices}); per CPU-s: per second of process CPU time, all threads. Photo latency: decode + preprocess + predict, ${settings.photos} photos, one at a time.`,
  );
  lines.push('');

  const rows: string[][] = [['', 'MLP samples/s', 'per CPU-s', 'MLP test acc.', 'CNN samples/s', 'per CPU-s', 'photo p50', 'photo p95', 'peak RSS', 'peak tensors']];
  for (const bench of report.backends) {
    const latency = 'error' in bench.photoLatency ? null : bench.photoLatency;
    rows.push([
      bench.backend,
      formatRate(bench.mlp.samplesPerSecond),
      formatRate(bench.mlp.samplesPerCpuSecond),
      bench.mlp.testAccuracy == null ? '—' : `${formatPercent(bench.mlp.testAccuracy)} (${bench.mlp.accuracyEpochs} ep.)`,
      'error' in bench.cnn ? 'fails' : formatRate(bench.cnn.samplesPerSecond),
      'error' in bench.cnn ? '—' : formatRate(bench.cnn.samplesPerCpuSecond),
      formatMs(latency?.p50Ms),
      formatMs(latency?.p95Ms),
      formatBytes(bench.memory.peakRssBytes),
      formatBytes(bench.memory.peakTensorBytes),
    ]);
  }
  for (const run of report.pytorch.runs) {
    const { baseline } = run;
    rows.push([
      `PyTorch, ${run.threads} thread${run.threads > 1 ? 's' : ''}`,
      formatRate(baseline.mlp.samplesPerSecond),
      formatRate(baseline.mlp.samplesPerCpuSecond),
      baseline.mlp.testAccuracy == null ? '—' : `${formatPercent(baseline.mlp.testAccuracy)} (${baseline.mlp.epochs.length} ep.)`,
      formatRate(baseline.cnn.samplesPerSecond),
      formatRate(baseline.cnn.samplesPerCpuSecond),
      '—',
      '—',
      formatBytes(baseline.peakRssBytes),
      '—',
    ]);
  }
  lines.push(textTable(rows));

  for (const bench of report.backends) {
    lines.push(`${bench.backend} MLP steps: ${bench.mlp.stepper.startsWith('dense-stack') ? `the fused Dense step (wasm-kernels/dense-step.ts), ${bench.mlp.stepper.slice('dense-stack, '.length)}` : bench.mlp.stepper}`);
    if ('error' in bench.cnn) lines.push(`${bench.backend} CNN: ${bench.cnn.error}`);
    if ('error' in bench.photoLatency) lines.push(`${bench.backend} photo latency: ${bench.photoLatency.error}`);
  }
  for (const skipped of report.skippedBackends) lines.push(`${skipped.backend}: not measured — ${skipped.reason}`);
  if (report.pytorch.skipped) lines.push(`PyTorch: ${report.pytorch.skipped}`);

  if (report.pytorch.runs.length > 0) {
    lines.push('');
    for (const ratio of report.ratios) {
      const each = ratio.byThreads.map((r) => `${r.threads} thread${r.threads > 1 ? 's' : ''}: MLP ${formatRatio(r.mlp)}, CNN ${formatRatio(r.cnn)}`).join('; ');
      lines.push(`${ratio.backend} ÷ PyTorch: MLP ${formatRatio(ratio.mlp)}, CNN ${formatRatio(ratio.cnn)} against the faster PyTorch run (${each})`);
    }
  }
  lines.push(...formatThreadScaling(report), ...formatTimeToAccuracy(report));
  lines.push('');
  for (const goal of report.goals) {
    const verdict = goal.met == null ? 'not measured' : goal.met ? 'met' : 'NOT met';
    const value = goal.value == null ? '—' : goal.name.includes('(ms)') ? formatMs(goal.value) : goal.name.includes('(s)') ? `${goal.value.toFixed(0)} s` : formatRatio(goal.value);
    lines.push(`Goal: ${goal.name} ${goal.target}: ${value} — ${verdict}`);
  }
  return lines.join('\n');
}

/** How the engine trained the batches, in a few words for the report. */
export function describeStepper(stepper: TrainingStepper): string {
  const threads = (n: number) => `${n} thread${n > 1 ? 's' : ''}`;
  switch (stepper.kind) {
    case 'dense-stack':
      return `dense-stack, ${threads(stepper.threads)}`;
    case 'parallel':
      return `parallel, ${threads(stepper.threads)}, shards of ${stepper.shardSize}`;
    case 'trainOnBatch':
      return `trainOnBatch: ${stepper.reason}`;
  }
}

/** The parallel trainer's samples/s by thread count, and the speed-up over one thread. */
function formatThreadScaling(report: BenchReport): string[] {
  const lines: string[] = [];
  for (const bench of report.backends) {
    if (bench.threadScaling.length === 0) continue;
    const rows: string[][] = [['threads', ...new Set(bench.threadScaling.map((s) => s.model))].map((h, i) => (i === 0 ? h : `${h} samples/s`))];
    const models = [...new Set(bench.threadScaling.map((s) => s.model))];
    const one = (model: string) => bench.threadScaling.find((s) => s.model === model && s.threads === 1)?.samplesPerSecond;
    for (const threads of [...new Set(bench.threadScaling.map((s) => s.threads))]) {
      rows.push([
        String(threads),
        ...models.map((model) => {
          const rate = bench.threadScaling.find((s) => s.model === model && s.threads === threads)?.samplesPerSecond;
          const base = one(model);
          return rate == null ? '—' : `${formatRate(rate)}${base ? ` (${formatRatio(rate / base)})` : ''}`;
        }),
      ]);
    }
    lines.push('', `${bench.backend}: the CNNs on 1, 2, … threads (the parallel trainer, engine/parallel/trainer.ts; one epoch of the first N images):`, textTable(rows));
  }
  return lines;
}

/** Seconds of training until 85 / 90 / 93 % test accuracy, Atelier and PyTorch per preset. */
function formatTimeToAccuracy(report: BenchReport): string[] {
  const tta = report.timeToAccuracy;
  if (!tta) return [];
  const runs = [...report.backends.flatMap((b) => b.timeToAccuracy), ...tta.pytorch];
  if (runs.length === 0) return tta.pytorchSkipped ? ['', `Time to accuracy: ${tta.pytorchSkipped}`] : [];
  const rows: string[][] = [['preset', 'who', 'threads', ...tta.thresholds.map((t) => `to ${formatPercent(t)}`), 'final test acc.', 'epochs', 'main-thread lag p95 / max']];
  for (const preset of [...new Set(runs.map((r) => r.preset))]) {
    for (const run of runs.filter((r) => r.preset === preset)) {
      const last = run.curve.at(-1);
      rows.push([
        preset,
        run.runner === 'pytorch' ? 'PyTorch' : `Atelier (${run.runner})`,
        run.threads == null ? '—' : String(run.threads),
        ...run.reached.map((r) => (r.seconds == null ? 'not reached' : `${r.seconds.toFixed(0)} s (ep. ${r.epoch})`)),
        last ? formatPercent(last.testAccuracy) : '—',
        String(run.curve.length),
        run.mainThreadLag ? `${formatMs(run.mainThreadLag.p95Ms)} / ${formatMs(run.mainThreadLag.maxMs)}` : '—',
      ]);
    }
  }
  const lines = [
    '',
    `Time to accuracy: each preset's whole recipe on ${tta.trainSamples.toLocaleString('en-US')} images, test accuracy (${tta.testSamples.toLocaleString('en-US')} images) after each epoch; seconds of training so far (scoring not counted):`,
    textTable(rows),
  ];
  if (tta.pytorchSkipped) lines.push(`PyTorch: ${tta.pytorchSkipped}`);
  return lines;
}
