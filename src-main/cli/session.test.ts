import { describe, expect, it } from 'vitest';
import type { Atelier } from '../app';
import { withAtelier } from './session';

/** Counts disposals: all withAtelier needs from the core. */
function countingDeps(): { makeAtelier: () => Atelier; disposed: () => number } {
  let disposals = 0;
  const atelier = { dispose: async () => void (disposals += 1) } as unknown as Atelier;
  return { makeAtelier: () => atelier, disposed: () => disposals };
}

describe('withAtelier', () => {
  it('answers with what the command returns, then disposes of the core', async () => {
    const deps = countingDeps();
    await expect(withAtelier(deps, async () => 3)).resolves.toBe(3);
    expect(deps.disposed()).toBe(1);
  });

  it('disposes of the core when the command throws, and lets the error through', async () => {
    const deps = countingDeps();
    await expect(
      withAtelier(deps, async () => {
        throw new Error('no such run');
      }),
    ).rejects.toThrow('no such run');
    expect(deps.disposed()).toBe(1);
  });
});
