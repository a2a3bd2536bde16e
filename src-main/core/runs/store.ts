/**
 * Run history on disk, shared by every shell:
 *   runs/<id>/run.json          config, backend, status (rewritten atomically)
 *   runs/<id>/metrics.jsonl     one EpochMetrics per line, appended as epochs finish
 *   runs/<id>/evaluation.json   test-set scores
 *   runs/<id>/predictions.bin   10,000 × 10 float32 probabilities (little-endian)
 *   runs/<id>/model/            TF.js layers format
 *   runs/<id>/checkpoints/      what training needs to go on after an epoch (see checkpoints.ts)
 *   runs/active.json            the model used for classification
 *   runs/last-number.json       the highest run number handed out (runs are "Tutorial MLP #4")
 * A run folder stays readable after a crash at any point: run.json and evaluation.json are
 * replaced atomically, and a torn last line of metrics.jsonl is ignored.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  EpochMetricsSchema,
  EvaluationSchema,
  RunSummarySchema,
  TrainingConfigSchema,
  TrainingPhotoRecordSchema,
  type EpochMetrics,
  type Evaluation,
  type RunDetail,
  type RunSummary,
  type TrainingConfig,
  type TrainingPhotoRecord,
} from '../../contract';
import { presetCatalogue } from '../engine/models';
import { AtelierError } from '../errors';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic';
import { runsDir } from '../paths';
import { checkpointEpochs } from './checkpoints';

/** run.json: the contract's run summary (less what is derived on reading) plus its config and trainer. */
const RunRecordSchema = RunSummarySchema.omit({ hasModel: true, active: true, photoCount: true, checkpointEpoch: true }).extend({
  /** Where the learning-rate schedule's current span starts (Train more starts a new one); absent: epoch 1. */
  scheduleFromEpoch: z.number().int().positive().optional(),
  /** Missing in run.json files written before runs were numbered; derived on reading (see `#legacyNumbers`). */
  number: z.number().int().positive().optional(),
  config: TrainingConfigSchema.nullable(),
  /** The process (and computer) training it, so other processes sharing the folder see it as running. */
  trainer: z.object({ pid: z.number().int(), host: z.string() }).nullable().optional(),
  /** The run taught from (`training.teach`); absent in runs from before teaching and in runs trained from scratch. */
  parentRunId: z.string().nullable().optional(),
  /** The photos of My photos the run trained on, as they were labelled then; absent when none. */
  photos: z.array(TrainingPhotoRecordSchema).optional(),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** True when another live process on this computer is training the run (the CLI while the app looks on). */
function trainingElsewhere(record: RunRecord): boolean {
  const trainer = record.trainer;
  if (!trainer || trainer.pid === process.pid || trainer.host !== hostname()) return false;
  try {
    process.kill(trainer.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** runs/last-number.json: the highest run number handed out in this data folder. */
const LAST_NUMBER_FILE = 'last-number.json';

/** "Tutorial MLP" for `tutorial-mlp`; an unknown preset (a newer Atelier's) keeps its id. */
export function presetLabel(preset: string): string {
  return presetCatalogue().find((entry) => entry.id === preset)?.name ?? preset;
}

/** The name of a run trained here: its model and its number, distinct within the data folder. */
export function trainedRunName(preset: string, number: number): string {
  return `${presetLabel(preset)} #${number}`;
}

/** Older imports were named "<name> (imported)"; the origin already says so, once. */
function withoutImportedSuffix(name: string): string {
  return name.replace(/ \(imported\)$/, '');
}

export class RunStore {
  readonly root: string;
  /** Ids of runs this process is training right now (anything else marked running was interrupted). */
  readonly #live = new Set<string>();

  constructor(home: string) {
    this.root = runsDir(home);
  }

  dir(id: string): string {
    if (!ID_PATTERN.test(id)) throw new AtelierError('invalid-payload', `"${id}" is not a run id.`);
    return join(this.root, id);
  }

  modelDir(id: string): string {
    return join(this.dir(id), 'model');
  }

  /** A new run folder with its run.json; the id sorts by creation time. */
  /**
   * A new run folder with its run.json; the id sorts by creation time. Its number is one more than
   * the highest in the folder, so names stay distinct even for runs started in the same second.
   * `name` (imports) replaces the "<preset> #<number>" of a trained run.
   */
  async create(init: {
    config: TrainingConfig | null;
    preset: string;
    backend: RunRecord['backend'];
    origin: RunRecord['origin'];
    name?: string;
    epochsPlanned: number;
    parentRunId?: string | null;
    photos?: TrainingPhotoRecord[];
  }): Promise<RunRecord> {
    const createdAt = new Date();
    const id = `${createdAt.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 23)}-${randomBytes(3).toString('hex')}`;
    // The counter remembers numbers of deleted runs too, so a number never names two runs.
    const number = Math.max(await this.#lastNumber(), ...(await this.#numbers()).values()) + 1;
    await mkdir(this.root, { recursive: true });
    await writeJsonAtomic(join(this.root, LAST_NUMBER_FILE), { number });
    const record: RunRecord = {
      id,
      number,
      name: init.name ?? trainedRunName(init.preset, number),
      createdAt: createdAt.toISOString(),
      origin: init.origin,
      preset: init.preset,
      config: init.config,
      backend: init.backend,
      status: init.origin === 'trained' ? 'running' : 'completed',
      epochsPlanned: init.epochsPlanned,
      epochsCompleted: 0,
      durationSeconds: 0,
      testAccuracy: null,
      testLoss: null,
      error: null,
      trainer: init.origin === 'trained' ? { pid: process.pid, host: hostname() } : null,
      ...(init.parentRunId ? { parentRunId: init.parentRunId } : {}),
      ...(init.photos?.length ? { photos: init.photos } : {}),
    };
    await mkdir(this.dir(id), { recursive: true });
    await writeJsonAtomic(join(this.dir(id), 'run.json'), record);
    if (record.status === 'running') this.#live.add(id);
    return record;
  }

  /** run.json as written, without judging whether a "running" run is still alive. */
  async #readRecord(id: string): Promise<RunRecord> {
    let text: string;
    try {
      text = await readFile(join(this.dir(id), 'run.json'), 'utf8');
    } catch {
      throw new AtelierError('not-found', `There is no run "${id}" in ${this.root}. It may have been deleted; refresh the list.`);
    }
    const parsed = RunRecordSchema.safeParse(safeJson(text));
    if (!parsed.success) throw new AtelierError('run-corrupt', `${join(this.dir(id), 'run.json')} is damaged. Delete the run folder or restore it from a backup.`);
    return parsed.data;
  }

  async read(id: string): Promise<RunRecord> {
    const record = await this.#readRecord(id);
    // A run left "running" by a process that is gone was interrupted: report it as failed, keep its data.
    if ((record.status === 'running' || record.status === 'evaluating') && !this.#live.has(id) && !trainingElsewhere(record)) {
      return { ...record, status: 'failed', error: record.error ?? 'Interrupted: Atelier stopped while this run was training. Its finished epochs are kept.' };
    }
    return record;
  }

  async update(id: string, patch: Partial<Omit<RunRecord, 'id'>>): Promise<RunRecord> {
    const current = await this.read(id);
    const next = { ...current, ...patch };
    await writeJsonAtomic(join(this.dir(id), 'run.json'), next);
    if (next.status !== 'running' && next.status !== 'evaluating') this.#live.delete(id);
    return next;
  }

  /**
   * Mark a run as training again in this process (Resume, Train more), with `patch` applied: the
   * counterpart of `create` for a run that already exists.
   */
  async reopen(id: string, patch: Partial<Omit<RunRecord, 'id' | 'status' | 'trainer'>>): Promise<RunRecord> {
    const current = await this.read(id);
    const next: RunRecord = { ...current, ...patch, status: 'running', error: null, trainer: { pid: process.pid, host: hostname() } };
    this.#live.add(id);
    await writeJsonAtomic(join(this.dir(id), 'run.json'), next);
    return next;
  }

  /** Replace metrics.jsonl (atomically) with these epochs: resuming drops epochs after its checkpoint. */
  async rewriteMetrics(id: string, metrics: readonly EpochMetrics[]): Promise<void> {
    await writeFileAtomic(join(this.dir(id), 'metrics.jsonl'), metrics.map((one) => `${JSON.stringify(one)}\n`).join(''));
  }

  async appendMetrics(id: string, metrics: EpochMetrics): Promise<void> {
    await appendFile(join(this.dir(id), 'metrics.jsonl'), `${JSON.stringify(metrics)}\n`);
  }

  async metrics(id: string): Promise<EpochMetrics[]> {
    let text = '';
    try {
      text = await readFile(join(this.dir(id), 'metrics.jsonl'), 'utf8');
    } catch {
      return [];
    }
    const out: EpochMetrics[] = [];
    for (const line of text.split('\n')) {
      const parsed = EpochMetricsSchema.safeParse(safeJson(line));
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }

  async writeEvaluation(id: string, evaluation: Evaluation, probabilities: Float32Array): Promise<void> {
    const bytes = new Uint8Array(probabilities.buffer, probabilities.byteOffset, probabilities.byteLength);
    await writeFileAtomic(join(this.dir(id), 'predictions.bin'), bytes);
    await writeJsonAtomic(join(this.dir(id), 'evaluation.json'), evaluation);
  }

  async evaluation(id: string): Promise<Evaluation | null> {
    try {
      const parsed = EvaluationSchema.safeParse(safeJson(await readFile(join(this.dir(id), 'evaluation.json'), 'utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /** The stored test-set probabilities (n × 10), or null when the run was never evaluated. */
  async predictions(id: string): Promise<Float32Array | null> {
    try {
      const bytes = await readFile(join(this.dir(id), 'predictions.bin'));
      if (bytes.byteLength % 40 !== 0) return null;
      const copy = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(copy.buffer).set(bytes);
      return copy;
    } catch {
      return null;
    }
  }

  async hasModel(id: string): Promise<boolean> {
    try {
      return (await stat(join(this.modelDir(id), 'model.json'))).isFile();
    } catch {
      return false;
    }
  }

  async activeRunId(): Promise<string | null> {
    try {
      const value = safeJson(await readFile(join(this.root, 'active.json'), 'utf8')) as { runId?: unknown } | null;
      return typeof value?.runId === 'string' && ID_PATTERN.test(value.runId) ? value.runId : null;
    } catch {
      return null;
    }
  }

  async setActive(id: string | null): Promise<void> {
    await writeJsonAtomic(join(this.root, 'active.json'), { runId: id });
  }

  async #lastNumber(): Promise<number> {
    const value = safeJson(await readFile(join(this.root, LAST_NUMBER_FILE), 'utf8').catch(() => '')) as { number?: unknown } | null;
    return typeof value?.number === 'number' && Number.isInteger(value.number) && value.number > 0 ? value.number : 0;
  }

  /**
   * The number of every readable run in the folder. A run.json from before numbering has none: those
   * runs count 1, 2, … in the order they were created (they are all older than any numbered run).
   */
  async #numbers(): Promise<Map<string, number>> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return new Map();
    }
    const numbers = new Map<string, number>();
    const legacy: { id: string; createdAt: string }[] = [];
    for (const id of entries.filter((entry) => ID_PATTERN.test(entry))) {
      const record = await this.#readRecord(id).catch(() => null);
      if (!record) continue;
      if (record.number === undefined) legacy.push({ id, createdAt: record.createdAt });
      else numbers.set(id, record.number);
    }
    legacy.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    legacy.forEach((run, index) => numbers.set(run.id, index + 1));
    return numbers;
  }

  async summary(id: string, activeId?: string | null, numbers?: Map<string, number>): Promise<RunSummary> {
    const record = await this.read(id);
    const active = activeId === undefined ? await this.activeRunId() : activeId;
    const { config: _config, trainer: _trainer, number: stored, parentRunId, photos, scheduleFromEpoch: _scheduleFrom, ...rest } = record;
    const number = stored ?? (numbers ?? (await this.#numbers())).get(id) ?? 0;
    // Before numbering, trained runs were named "<preset id> · <minute>" (two in a minute looked the same).
    const name = stored !== undefined ? record.name : record.origin === 'trained' ? trainedRunName(record.preset, number) : withoutImportedSuffix(record.name);
    return {
      ...rest,
      name,
      number,
      hasModel: await this.hasModel(id),
      active: active === id,
      parentRunId: parentRunId ?? null,
      photoCount: photos?.length ?? 0,
      checkpointEpoch: (await checkpointEpochs(this.dir(id)))[0] ?? null,
      earlyStop: record.earlyStop ?? null,
    };
  }

  async detail(id: string): Promise<RunDetail> {
    const [summary, record, metrics] = await Promise.all([this.summary(id), this.read(id), this.metrics(id)]);
    return { ...summary, config: record.config, metrics, photos: record.photos ?? [] };
  }

  /** Every run, newest first. Damaged run folders are listed as failed with the reason, not hidden. */
  async list(): Promise<RunSummary[]> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return [];
    }
    const active = await this.activeRunId();
    const numbers = await this.#numbers();
    const ids = entries.filter((entry) => ID_PATTERN.test(entry)).sort().reverse();
    const out: RunSummary[] = [];
    for (const id of ids) {
      try {
        out.push(await this.summary(id, active, numbers));
      } catch (error) {
        if (error instanceof AtelierError && error.kind === 'not-found') continue; // not a run folder
        out.push({
          id, name: id, number: 0, createdAt: '', origin: 'trained', preset: 'unknown', backend: null, status: 'failed',
          epochsPlanned: 0, epochsCompleted: 0, durationSeconds: 0, testAccuracy: null, testLoss: null,
          hasModel: false, active: false, error: error instanceof Error ? error.message : String(error), parentRunId: null, photoCount: 0, checkpointEpoch: null,
        });
      }
    }
    // Newest first by the recorded time (ids sort the same way, but imported or older runs may not).
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  /** The newest completed (or stopped) run with a model. */
  async latestWithModel(): Promise<string | null> {
    for (const run of await this.list()) if (run.hasModel && run.status !== 'running') return run.id;
    return null;
  }

  async delete(id: string): Promise<boolean> {
    if (this.#live.has(id)) throw new AtelierError('busy', 'This run is training right now; stop it first.');
    const dir = this.dir(id);
    const record = await this.read(id).catch(() => null);
    if (record && (record.status === 'running' || record.status === 'evaluating')) {
      throw new AtelierError('busy', `This run is training right now in another Atelier process (pid ${record.trainer?.pid ?? '?'}); stop it there first.`);
    }
    try {
      await stat(dir);
    } catch {
      return false;
    }
    await rm(dir, { recursive: true, force: true });
    if ((await this.activeRunId()) === id) await this.setActive(null);
    return true;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
