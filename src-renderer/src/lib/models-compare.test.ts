/** ModelsState's comparison: how many runs can be picked, which two are subtracted, whose evaluations are asked for. */
import { describe, expect, it } from 'vitest';
import type { AtelierBridge, Evaluation, RunSummary } from '../../../src-main/contract';
import { COMPARE_LIMIT } from './compare';
import { ModelsState } from './models.svelte';

function summary(id: string, changes: Partial<RunSummary> = {}): RunSummary {
  return { id, name: `Run ${id}`, epochsCompleted: 1, hasModel: true, status: 'completed', parentRunId: null, ...changes } as RunSummary;
}

function withRuns(runs: RunSummary[]): { models: ModelsState; asked: string[] } {
  const asked: string[] = [];
  const bridge = {
    evaluation: {
      get: async ({ runId }: { runId: string }) => {
        asked.push(runId);
        return { ok: true, value: { runId } as unknown as Evaluation };
      },
    },
  } as unknown as AtelierBridge;
  const models = new ModelsState(bridge);
  models.runs = runs;
  return { models, asked };
}

describe('ModelsState comparison', () => {
  it(`takes up to ${COMPARE_LIMIT} picks in order, and closes the comparison when fewer than two stay`, () => {
    const runs = Array.from({ length: COMPARE_LIMIT + 1 }, (_, index) => summary(`r${index}`));
    const { models } = withRuns(runs);
    for (const run of runs) models.toggleCompare(run.id, true);
    expect(models.compared).toEqual(runs.slice(0, COMPARE_LIMIT).map((run) => run.id));
    expect(models.canPick(runs[COMPARE_LIMIT]!)).toBe(false);
    expect(models.canPick(runs[0]!)).toBe(true);
    models.comparing = true;
    for (const run of runs.slice(1)) models.toggleCompare(run.id, false);
    expect(models.comparing).toBe(false);
    expect(models.canPick({ ...runs[1]!, epochsCompleted: 0 })).toBe(false);
  });

  it('subtracts the first two picks unless two others are chosen, and falls back when a chosen one is unticked', () => {
    const { models } = withRuns([summary('a'), summary('b'), summary('c')]);
    for (const id of ['a', 'b', 'c']) models.toggleCompare(id, true);
    expect(models.diffPair).toEqual(['a', 'b']);
    models.diffB = 'c';
    expect(models.diffPair).toEqual(['a', 'c']);
    models.diffA = 'c';
    expect(models.diffPair).toEqual(['c', 'a']);
    models.toggleCompare('c', false);
    expect(models.diffPair).toEqual(['a', 'b']);
  });

  it('asks for the evaluations of compared runs with a model that are not training, once, and only while comparing', async () => {
    const { models, asked } = withRuns([summary('a'), summary('b', { hasModel: false }), summary('c', { status: 'running' }), summary('d')]);
    for (const id of ['a', 'b', 'c', 'd']) models.toggleCompare(id, true);
    models.loadComparedEvaluations();
    expect(asked).toEqual([]);
    models.comparing = true;
    models.loadComparedEvaluations();
    models.loadComparedEvaluations();
    await Promise.resolve();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(asked).toEqual(['a', 'd']);
    expect(Object.keys(models.evaluations)).toEqual(['a', 'd']);
    models.loadComparedEvaluations();
    expect(asked).toEqual(['a', 'd']);
  });
});
