import { describe, expect, it } from 'vitest';
import { learningRateAt, learningRateOfEpoch } from './lr-schedule';

const at = (step: number, totalSteps = 100, stepsPerEpoch = 10) => ({ step, totalSteps, stepsPerEpoch });

describe('learningRateAt', () => {
  it('keeps the rate constant without a schedule or with constant', () => {
    for (const step of [0, 37, 99]) {
      expect(learningRateAt(undefined, 0.001, at(step))).toBe(0.001);
      expect(learningRateAt({ kind: 'constant' }, 0.001, at(step))).toBe(0.001);
    }
  });

  it('steps down by the factor every few epochs', () => {
    const schedule = { kind: 'step', everyEpochs: 2, factor: 0.5 } as const;
    expect(learningRateAt(schedule, 0.01, at(0))).toBe(0.01);
    expect(learningRateAt(schedule, 0.01, at(19))).toBe(0.01);
    expect(learningRateAt(schedule, 0.01, at(20))).toBe(0.005);
    expect(learningRateAt(schedule, 0.01, at(45))).toBe(0.0025);
    expect(learningRateOfEpoch(schedule, 0.01, 5, 10, 10)).toBe(0.0025);
  });

  it('anneals along a cosine from the rate to 0', () => {
    const schedule = { kind: 'cosine' } as const;
    expect(learningRateAt(schedule, 0.01, at(0))).toBe(0.01);
    expect(learningRateAt(schedule, 0.01, at(99))).toBeCloseTo(0, 12);
    expect(learningRateAt(schedule, 0.01, at(99 / 2))).toBeCloseTo(0.005, 12);
    for (let step = 1; step < 100; step++) expect(learningRateAt(schedule, 0.01, at(step))).toBeLessThan(learningRateAt(schedule, 0.01, at(step - 1)));
  });

  it("follows PyTorch's OneCycleLR step for step (values printed by torch 1.13, cycle_momentum off)", () => {
    const torch: [number, number][] = [
      [0, 0.0003999999999999993],
      [1, 0.00042813780565907275],
      [14, 0.004940133238789995],
      [29, 0.01],
      [30, 0.009994965352845242],
      [50, 0.00793893450575732],
      [99, 4e-8],
    ];
    for (const [step, rate] of torch) expect(learningRateAt({ kind: 'one-cycle' }, 0.01, at(step))).toBeCloseTo(rate, 15);
  });

  it('clamps steps outside the run to its ends', () => {
    expect(learningRateAt({ kind: 'one-cycle' }, 0.01, at(-5))).toBeCloseTo(0.0004, 15);
    expect(learningRateAt({ kind: 'cosine' }, 0.01, at(500))).toBeCloseTo(0, 12);
  });
});
