import { describe, expect, it } from 'vitest';
import { settleLatest } from './latest';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('settleLatest', () => {
  it('hands on the value, or the error message, and then says it settled', async () => {
    const seen: string[] = [];
    settleLatest(Promise.resolve(3), { value: (v) => seen.push(`value ${v}`), error: (m) => seen.push(`error ${m}`), settled: () => seen.push('settled') });
    settleLatest(Promise.reject(new Error('no run')), { value: () => seen.push('value'), error: (m) => seen.push(`error ${m}`) });
    settleLatest(Promise.reject('plain'), { value: () => seen.push('value'), error: (m) => seen.push(`error ${m}`) });
    await tick();
    expect(seen).toEqual(['value 3', 'error no run', 'error plain', 'settled']);
  });

  it('drops an answer that arrives after the cleanup', async () => {
    const seen: string[] = [];
    let answer!: (v: number) => void;
    const cleanup = settleLatest(new Promise<number>((resolve) => (answer = resolve)), { value: (v) => seen.push(`value ${v}`), error: () => seen.push('error'), settled: () => seen.push('settled') });
    cleanup();
    answer(1);
    await tick();
    expect(seen).toEqual([]);
  });
});
