/**
 * The live camera's pure parts: what a person reads when the camera cannot start, how a captured
 * frame is named, and how the answers-a-second figure is worked out.
 */
import { describe, expect, it } from 'vitest';
import { answerRate, captureName, describeCameraFailure } from './camera.svelte';

describe('describeCameraFailure', () => {
  it('says what to do for each way getUserMedia fails', () => {
    const failure = (name: string) => describeCameraFailure(new DOMException('x', name));
    expect(failure('NotAllowedError')).toContain('Camera access was refused');
    expect(failure('SecurityError')).toContain('Camera access was refused');
    expect(failure('NotFoundError')).toContain('No camera was found');
    expect(failure('OverconstrainedError')).toContain('No camera was found');
    expect(failure('NotReadableError')).toContain('another program may be using it');
    expect(describeCameraFailure(new Error('device lost'))).toBe('The camera could not be started (device lost).');
  });
});

describe('captureName', () => {
  it('names a frame after the second it was taken', () => {
    expect(captureName(new Date(2026, 11, 3, 9, 5, 7))).toBe('camera-2026-12-03-09-05-07.jpg');
  });
});

describe('answerRate', () => {
  it('is answers a second over the times given, null until there are two', () => {
    expect(answerRate([])).toBeNull();
    expect(answerRate([1000])).toBeNull();
    expect(answerRate([1000, 1250, 1500, 1750, 2000])).toBe(4);
    expect(answerRate([0, 500])).toBe(2);
    expect(answerRate([5, 5])).toBeNull();
  });
});
