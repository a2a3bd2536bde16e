import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBenchReport } from './format';
import { cpuModelName } from './machine';
import { findPyTorch, parseBaselineOutput, pythonCandidates, type PyTorchBaseline } from './pytorch';
import { goalsOf, ratiosOf, type BackendBench, type BenchReport } from './run';
import { formatBytes, formatMs, formatRate, formatRatio, percentile, speedRatio, spreadSample, summarizeLatencies, textTable } from './stats';

describe('percentile', () => {
  it('interpolates between ranks like NumPy', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 0, 5], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 95)).toBe(10.5);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('lies between the minimum and maximum and grows with q', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1 }), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (values, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(percentile(values, lo)).toBeGreaterThanOrEqual(Math.min(...values));
        expect(percentile(values, hi)).toBeLessThanOrEqual(Math.max(...values));
        expect(percentile(values, lo)).toBeLessThanOrEqual(percentile(values, hi) + 1e-9 * Math.max(1, ...values.map(Math.abs)));
        expect(percentile(values, 0)).toBe(Math.min(...values));
        expect(percentile(values, 100)).toBe(Math.max(...values));
      }),
      { numRuns: 2000 },
    );
  });

  it('summarises latencies without reordering the input', () => {
    const input = [30, 10, 20, 40];
    const summary = summarizeLatencies(input);
    expect(summary).toEqual({ count: 4, p50Ms: 25, p95Ms: 38.5, meanMs: 25, maxMs: 40 });
    expect(input).toEqual([30, 10, 20, 40]);
  });
});

describe('ratios and formatting', () => {
  it('divides only real, positive baselines', () => {
    expect(speedRatio(300, 100)).toBe(3);
    expect(speedRatio(300, 0)).toBeNull();
    expect(speedRatio(null, 100)).toBeNull();
    expect(speedRatio(300, Number.NaN)).toBeNull();
  });

  it('writes numbers as a person reads them', () => {
    expect(formatRate(12345.6)).toBe('12,346');
    expect(formatRate(null)).toBe('—');
    expect(formatRatio(2.414)).toBe('2.41×');
    expect(formatRatio(23.45)).toBe('23.4×');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(123.4)).toBe('123 ms');
    expect(formatBytes(465_000_000)).toBe('465 MB');
    expect(formatBytes(34_300_000)).toBe('34.3 MB');
  });

  it('spreads a sample over the whole list, in order', () => {
    const items = Array.from({ length: 290 }, (_, i) => i);
    const picked = spreadSample(items, 100);
    expect(picked).toHaveLength(100);
    expect(picked[0]).toBe(0);
    expect(picked.at(-1)).toBeGreaterThan(280);
    expect([...picked].sort((a, b) => a - b)).toEqual(picked);
    expect(new Set(picked).size).toBe(100);
    expect(spreadSample([1, 2], 5)).toEqual([1, 2]);
  });

  it('aligns table columns', () => {
    const table = textTable([
      ['', 'a'],
      ['wasm', '12,345'],
      ['cpu', '7'],
    ]).split('\n');
    expect(table[2]).toBe('wasm  12,345');
    expect(table[3]).toBe('cpu        7');
    expect(new Set(table.map((l) => l.length)).size).toBe(1);
  });

  it('reads the CPU model from /proc/cpuinfo', () => {
    expect(cpuModelName('processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: x')).toBe('AMD EPYC 7B13');
  });
});

const baseline = (mlp: number, cnn: number, threads: number): PyTorchBaseline => ({
  torchVersion: '1.13.0a0',
  numpyVersion: '1.24.2',
  python: '3.11.2',
  threads,
  batchSize: 32,
  optimizer: 'Adam',
  mlp: { model: 'mlp', samples: 60000, seconds: 60000 / mlp, samplesPerSecond: mlp, samplesPerCpuSecond: null, epochs: [], testAccuracy: null },
  cnn: { model: 'cnn', samples: 3000, seconds: 3000 / cnn, samplesPerSecond: cnn, samplesPerCpuSecond: null, epochs: [], testAccuracy: null },
  peakRssBytes: 5e8,
});

const wasm = (mlp: number, cnn: number, p95: number): BackendBench => ({
  backend: 'wasm',
  features: {},
  mlp: { samples: 60000, seconds: 1, samplesPerSecond: mlp, samplesPerCpuSecond: null, losses: [0.5], epochsPerSecond: [mlp], testAccuracy: 0.88, accuracyEpochs: 5, stepper: 'dense-stack, 2 threads' },
  cnn: { samples: 3000, seconds: 1, samplesPerSecond: cnn, samplesPerCpuSecond: null, losses: [1] },
  threadScaling: [],
  timeToAccuracy: [],
  photoLatency: { count: 100, p50Ms: p95 / 2, p95Ms: p95, meanMs: p95 / 2, maxMs: p95, decodeP50Ms: 1, preprocessP50Ms: 1, predictP50Ms: 1 },
  memory: { peakRssBytes: 4e8, peakTensorBytes: 3e7, wasmHeapBytes: null },
});

describe('comparison with PyTorch', () => {
  it('judges against the faster PyTorch run and lists each', () => {
    const ratios = ratiosOf([wasm(12000, 800, 40)], [{ threads: 2, baseline: baseline(600, 200, 2) }, { threads: 1, baseline: baseline(30000, 1000, 1) }]);
    expect(ratios[0]!.mlp).toBeCloseTo(0.4);
    expect(ratios[0]!.cnn).toBeCloseTo(0.8);
    expect(ratios[0]!.byThreads).toEqual([
      { threads: 2, mlp: 20, cnn: 4 },
      { threads: 1, mlp: 0.4, cnn: 0.8 },
    ]);
    const goals = goalsOf([wasm(12000, 800, 40)], ratios);
    expect(goals.map((g) => g.met)).toEqual([false, false, true, null]);
  });

  it('leaves the speed goals unjudged without PyTorch', () => {
    const ratios = ratiosOf([wasm(12000, 800, 60)], []);
    expect(ratios[0]!.mlp).toBeNull();
    expect(goalsOf([wasm(12000, 800, 60)], ratios).map((g) => g.met)).toEqual([null, null, false, null]);
  });

  it('says PyTorch is missing and how to get it, and the report still prints', async () => {
    const lookup = await findPyTorch(['/nonexistent/python3']);
    expect(lookup.found).toBe(false);
    if (lookup.found) return;
    expect(lookup.reason).toMatch(/PyTorch is not installed/);
    expect(lookup.reason).toMatch(/apt install python3-torch/);
    expect(lookup.reason).toMatch(/\/nonexistent\/python3/);
    const report: BenchReport = {
      version: 1,
      date: '2025-01-01T00:00:00.000Z',
      quick: true,
      machine: { cpuModel: 'Test CPU', cores: 2, totalMemoryBytes: 1, os: 'Linux', node: 'v20', loadAverageAtStart: [1, 1, 1], loadAverageAtEnd: [2, 2, 2], tfjsVersion: '4.22.0', pytorchVersion: null, python: null, blas: null },
      settings: { batchSize: 32, optimizer: 'Adam', mlpSamples: 60000, cnnSamples: { pytorch: 3000, wasm: 3000 }, warmupBatches: 5, photos: 100, photosDir: '/photos', datasetDir: '/data' },
      backends: [wasm(12000, 800, 60)],
      skippedBackends: [{ backend: 'tensorflow', reason: 'not installed' }],
      pytorch: { runs: [], skipped: lookup.reason },
      ratios: [],
      timeToAccuracy: null,
      goals: goalsOf([wasm(12000, 800, 60)], []),
      seconds: 1,
    };
    const text = formatBenchReport(report);
    expect(text).toContain('no PyTorch');
    expect(text).toContain(`PyTorch: ${lookup.reason}`);
    expect(text).toContain('tensorflow: not measured — not installed');
    expect(text).toMatch(/wasm\s+12,000\s+—\s+88\.0 % \(5 ep\.\)\s+800/);
    expect(text).toContain('≤ 50 ms: 60.0 ms — NOT met');
  });

  it('prefers ATELIER_PYTHON, then python3, then Debian’s interpreter', () => {
    expect(pythonCandidates({ ATELIER_PYTHON: '/opt/py' })).toEqual(['/opt/py', 'python3', '/usr/bin/python3']);
    expect(pythonCandidates({})).toEqual(['python3', '/usr/bin/python3']);
  });

  it('reads the baseline’s JSON and refuses anything else', () => {
    const good = baseline(100, 10, 2);
    expect(parseBaselineOutput(`noise\n${JSON.stringify(good)}\n`)).toEqual(good);
    expect(() => parseBaselineOutput('Traceback ...')).toThrow(/no JSON/);
    expect(() => parseBaselineOutput(JSON.stringify({ ...good, mlp: null }))).toThrow(/mlp/);
  });
});
