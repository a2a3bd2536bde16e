import { describe, expect, it } from 'vitest';
import { formatDateTime } from './format';
import { formatEpochs } from './run-facts';

describe('formatEpochs', () => {
  it('shows done/planned for a run trained here', () => {
    expect(formatEpochs({ origin: 'trained', epochsCompleted: 3, epochsPlanned: 5 })).toBe('3/5');
    expect(formatEpochs({ origin: 'trained', epochsCompleted: 0, epochsPlanned: 5 })).toBe('0/5');
  });

  it('never shows 0/0 for an import: the epochs it had elsewhere, or a dash', () => {
    expect(formatEpochs({ origin: 'imported', epochsCompleted: 0, epochsPlanned: 0 })).toBe('—');
    expect(formatEpochs({ origin: 'imported', epochsCompleted: 4, epochsPlanned: 4 })).toBe('4');
  });
});

describe('formatDateTime', () => {
  it('keeps the seconds, so runs of the same minute differ', () => {
    const a = formatDateTime('2026-12-03T13:16:05.000Z', 'en-GB');
    const b = formatDateTime('2026-12-03T13:16:41.000Z', 'en-GB');
    expect(a).not.toBe(b);
    expect(a).toMatch(/\d{2}:\d{2}:\d{2}/);
    expect(a).toMatch(/2026/);
  });

  it('shows a dash for a missing or broken time', () => {
    expect(formatDateTime('')).toBe('—');
    expect(formatDateTime('not a date')).toBe('—');
  });
});
