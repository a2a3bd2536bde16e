import { describe, expect, it } from 'vitest';
import { describeFeatures } from './engine-features';

describe('describeFeatures', () => {
  it('gives the engine facts human labels and plain values, never their keys', () => {
    const facts = describeFeatures({ simd: true, threads: false, trainingKernels: 6, denseStepThreads: 2, cnnTrainingThreads: 2, gpu: false });
    expect(facts.map((fact) => `${fact.label}: ${fact.value}`)).toEqual([
      'SIMD: yes',
      'Multithreaded kernels: no',
      'Training kernels: 6',
      'Threads for the Dense step: 2',
      'Threads for CNN training: 2',
      'GPU: no',
    ]);
    for (const fact of facts) expect(fact.label).not.toMatch(/[a-z][A-Z]/);
  });

  it('turns a key it does not know into words, and marks the warning as one', () => {
    const [unknown, warning] = describeFeatures({ someNewFact_count: 1200, warning: 'ATELIER_BACKEND=x is not a backend; ignored.' });
    expect(unknown).toMatchObject({ label: 'Some new fact count', value: '1,200', warning: false });
    expect(warning).toMatchObject({ label: 'Note', warning: true });
  });
});
