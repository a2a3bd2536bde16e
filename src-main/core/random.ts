/** A source of uniform random numbers in [0, 1). */
export type Random = () => number;

/** A `Random` whose position can be read and set, so a checkpoint can continue its sequence exactly. */
export interface SeededRandom extends Random {
  /** The generator's 32-bit state: the same state gives the same numbers from here on. */
  state(): number;
  setState(state: number): void;
}

/**
 * Mulberry32: a tiny, fast, well-distributed seeded 32-bit generator, so shuffles, augmentation and
 * test inputs repeat exactly for the same seed.
 */
export function mulberry32(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (() => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as SeededRandom;
  next.state = () => state;
  next.setState = (value) => {
    state = value >>> 0;
  };
  return next;
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace(values: Uint32Array, random: () => number): Uint32Array {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = values[i]!;
    values[i] = values[j]!;
    values[j] = swap;
  }
  return values;
}
