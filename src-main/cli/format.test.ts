import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../contract';
import { formatRuns } from './format';

const run = (overrides: Partial<RunSummary>): RunSummary => ({
  id: '2026-12-03T13-00-00-000Z-abcd',
  name: 'Tutorial MLP #1',
  number: 1,
  createdAt: '2026-12-03T13:00:00.000Z',
  origin: 'trained',
  preset: 'tutorial-mlp',
  backend: 'wasm',
  status: 'completed',
  epochsPlanned: 5,
  epochsCompleted: 5,
  durationSeconds: 12.4,
  testAccuracy: 0.8731,
  testLoss: 0.35,
  hasModel: true,
  active: false,
  error: null,
  parentRunId: null,
  photoCount: 0,
  checkpointEpoch: null,
  ...overrides,
});

describe('formatRuns', () => {
  it('names each run so two of the same minute can be told apart, and marks the active one', () => {
    const text = formatRuns([run({ name: 'Tutorial MLP #2', number: 2, active: true }), run({})]);
    const [header, first, second] = text.split('\n');
    expect(header).toMatch(/^ {2}name\s+id\s+backend\s+epochs/);
    expect(first).toMatch(/^\* Tutorial MLP #2 /);
    expect(second).toMatch(/^ {2}Tutorial MLP #1 /);
    expect(first).toContain('5/5');
    expect(first).toContain('87.3');
  });

  it('shows an import once as imported, with the epochs it brought or a dash instead of 0/0', () => {
    const text = formatRuns([
      run({ name: 'fashion-cnn', origin: 'imported', epochsPlanned: 0, epochsCompleted: 0 }),
      run({ name: 'Small CNN #3', origin: 'imported', epochsPlanned: 4, epochsCompleted: 4 }),
    ]);
    const [, bare, carried] = text.split('\n');
    expect(bare).not.toContain('0/0');
    expect(bare).toMatch(/wasm\s+—\s/);
    expect(bare).toContain('imported, completed');
    expect(bare).not.toMatch(/imported.*imported/);
    expect(carried).toMatch(/wasm\s+4\s/);
  });

  it('says how to start when there are no runs', () => {
    expect(formatRuns([])).toContain('atelier train');
  });
});
