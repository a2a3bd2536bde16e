/**
 * The PyTorch side of `atelier bench`: find a Python that can `import torch`, run
 * `bench/pytorch_baseline.py` with it, and read its JSON. PyTorch is optional: when no
 * interpreter has it, the bench says so and goes on without the baseline.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { z } from 'zod';

/** Interpreters tried in order: `$ATELIER_PYTHON`, the one on PATH, then Debian's (where `python3-torch` installs). */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [env.ATELIER_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c && c.trim()));
  return [...new Set(candidates)];
}

export const PYTORCH_MISSING_HINT = 'install it with ‘apt install python3-torch’ (Debian/Ubuntu), or point ATELIER_PYTHON at a Python that has it';

export type PyTorchLookup = { found: true; python: string; torchVersion: string } | { found: false; reason: string };

function run(command: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => resolve({ ok: !error, stdout, stderr: stderr || (error?.message ?? '') }));
  });
}

/** The first candidate whose `import torch` works, or why none did (one line per candidate). */
export async function findPyTorch(candidates: readonly string[] = pythonCandidates()): Promise<PyTorchLookup> {
  const tried: string[] = [];
  for (const python of candidates) {
    const probe = await run(python, ['-c', 'import torch; print(torch.__version__)'], 60_000);
    if (probe.ok) return { found: true, python, torchVersion: probe.stdout.trim() };
    const lastLine = probe.stderr.trim().split('\n').at(-1) ?? 'no output';
    tried.push(`${python}: ${lastLine}`);
  }
  return { found: false, reason: `PyTorch is not installed (${tried.join('; ') || 'no Python to try'}) — ${PYTORCH_MISSING_HINT}. The PyTorch baseline is skipped.` };
}

const EpochSchema = z.object({ epoch: z.number(), seconds: z.number(), cpuSeconds: z.number(), samplesPerSecond: z.number(), loss: z.number() });
const ModelResultSchema = z.object({
  model: z.enum(['mlp', 'cnn']),
  samples: z.number().int(),
  seconds: z.number(),
  samplesPerSecond: z.number(),
  samplesPerCpuSecond: z.number().nullable(),
  epochs: z.array(EpochSchema),
  testAccuracy: z.number().nullable(),
});
export const PyTorchBaselineSchema = z.object({
  torchVersion: z.string(),
  numpyVersion: z.string(),
  python: z.string(),
  threads: z.number().int(),
  /** Threads the BLAS may use (the script sets 1 unless OPENBLAS_NUM_THREADS says otherwise). */
  blasThreads: z.number().int().optional(),
  batchSize: z.number().int(),
  optimizer: z.string(),
  mlp: ModelResultSchema,
  cnn: ModelResultSchema,
  peakRssBytes: z.number(),
});
/** What `pytorch_baseline.py` prints. */
export type PyTorchBaseline = z.infer<typeof PyTorchBaselineSchema>;

/** Reads the script's stdout: its last non-empty line is the JSON object. */
export function parseBaselineOutput(stdout: string): PyTorchBaseline {
  return parseLastLine(stdout, PyTorchBaselineSchema);
}

function parseLastLine<T extends z.ZodType>(stdout: string, schema: T): z.infer<T> {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`pytorch_baseline.py printed no JSON result (last line: ${JSON.stringify(line.slice(0, 200))})`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`pytorch_baseline.py printed an unexpected result: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

const CurvePointSchema = z.object({ epoch: z.number().int(), seconds: z.number(), testAccuracy: z.number() });
export const PyTorchTimeToAccuracySchema = z.object({
  torchVersion: z.string(),
  threads: z.number().int(),
  trainSamples: z.number().int(),
  testSamples: z.number().int(),
  /** Per preset: after each epoch, the training seconds so far and the test accuracy. */
  curves: z.record(z.string(), z.array(CurvePointSchema)),
});
export type PyTorchTimeToAccuracy = z.infer<typeof PyTorchTimeToAccuracySchema>;

export interface BaselineRunOptions {
  python: string;
  script: string;
  dataDir: string;
  threads: number;
  mlpEpochs: number;
  cnnSamples: number;
  warmupBatches: number;
  /** Each progress line the script writes to stderr. */
  onProgress?: (line: string) => void;
}

/** Run the baseline once; rejects with the script's last error line when it fails. */
export function runBaseline(options: BaselineRunOptions): Promise<PyTorchBaseline> {
  const args = [
    '--data-dir', options.dataDir,
    '--threads', String(options.threads),
    '--mlp-epochs', String(options.mlpEpochs),
    '--cnn-samples', String(options.cnnSamples),
    '--warmup-batches', String(options.warmupBatches),
  ];
  return runScript(options, args, parseBaselineOutput);
}

export interface TimeToAccuracyRunOptions {
  python: string;
  script: string;
  dataDir: string;
  threads: number;
  /** Preset ids with their epochs. */
  epochs: Record<string, number>;
  trainLimit: number | null;
  testLimit: number | null;
  onProgress?: (line: string) => void;
}

/** Train each preset's whole recipe in PyTorch, test accuracy after every epoch. */
export function runTimeToAccuracy(options: TimeToAccuracyRunOptions): Promise<PyTorchTimeToAccuracy> {
  const presets = Object.keys(options.epochs);
  const args = [
    '--data-dir', options.dataDir,
    '--threads', String(options.threads),
    '--time-to-accuracy', presets.join(','),
    '--epochs', presets.map((preset) => `${preset}=${options.epochs[preset]}`).join(','),
    ...(options.trainLimit != null ? ['--train-limit', String(options.trainLimit)] : []),
    ...(options.testLimit != null ? ['--test-limit', String(options.testLimit)] : []),
  ];
  return runScript(options, args, (stdout) => parseLastLine(stdout, PyTorchTimeToAccuracySchema));
}

function runScript<T>(options: { python: string; script: string; onProgress?: (line: string) => void }, scriptArgs: string[], parse: (stdout: string) => T): Promise<T> {
  if (!existsSync(options.script)) return Promise.reject(new Error(`${options.script} is missing — the PyTorch baseline ships with the source repository, not the npm package`));
  const args = [options.script, ...scriptArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(options.python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let lastLine = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const lines = stderr.split('\n');
      stderr = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        lastLine = line;
        options.onProgress?.(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`pytorch_baseline.py exited with code ${code}: ${(stderr.trim() || lastLine).split('\n').at(-1)}`));
        return;
      }
      try {
        resolve(parse(stdout));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}
