import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAtelier, type Atelier } from './app';
import { closedPortUrl } from './core/dataset/test-mirror';
import { writeFakeEngineWorker } from './core/engine/test-fake-worker';
import { CALL_NAMES, calls, type CallName, type CallResult } from './contract';
import { AtelierError, ERROR_KINDS } from './core/errors';
import { dispatch, type CallContext, type Handlers } from './dispatch';

const context: CallContext = { shell: 'cli' };

/** A handler table where every channel runs `handler` (the contract grows; the table follows). */
function tableOf(handler: (input: unknown, context: CallContext) => Promise<unknown>): Handlers {
  return Object.fromEntries(CALL_NAMES.map((channel) => [channel, handler])) as unknown as Handlers;
}

function expectError(result: CallResult<unknown>): { kind: string; message: string } {
  if (result.ok) throw new Error(`expected an error, got ok: ${JSON.stringify(result.value)}`);
  return result.error;
}

/** Every result must be one of the two shapes, with a known kind and a message to show. */
function assertCallResult(result: unknown): asserts result is CallResult<unknown> {
  expect(result).toBeTypeOf('object');
  const { ok } = result as { ok: unknown };
  if (ok === true) {
    expect(Object.keys(result as object).sort()).toEqual(['ok', 'value']);
    return;
  }
  expect(ok).toBe(false);
  const { error } = result as { error: { kind: unknown; message: unknown } };
  expect(ERROR_KINDS).toContain(error.kind);
  expect(typeof error.message).toBe('string');
  expect((error.message as string).length).toBeGreaterThan(0);
}

/** Payloads of every shape JSON, IPC's structured clone or a careless caller could produce. */
const anyPayload = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});

describe('dispatch', () => {
  it('answers unknown-call for a channel outside the contract, without running any handler', async () => {
    const handler = vi.fn(async () => 'ran');
    for (const channel of ['system.nope', 'System.info', '', 'system.info ', 42, null, undefined]) {
      const error = expectError(await dispatch(tableOf(handler), channel, {}, context));
      expect(error.kind, String(channel)).toBe('unknown-call');
    }
    expect(expectError(await dispatch(tableOf(handler), 'training.launchMissiles', {}, context)).message).toContain(
      'training.launchMissiles',
    );
    expect(handler).not.toHaveBeenCalled();
  });

  it('answers unknown-call even for a channel value that cannot be turned into a string', async () => {
    for (const channel of [Object.create(null), [Object.create(null)], Symbol('system.info'), { toString: 1, valueOf: 2 }]) {
      expect(expectError(await dispatch(tableOf(async () => 0), channel, {}, context)).kind).toBe('unknown-call');
    }
  });

  it('does not take inherited object keys for channels', async () => {
    const handler = vi.fn(async () => 'ran');
    for (const channel of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(expectError(await dispatch(tableOf(handler), channel, {}, context)).kind, channel).toBe('unknown-call');
    }
    expect(handler).not.toHaveBeenCalled();
  });

  it('keeps the unknown-call message short when the channel is huge', async () => {
    const error = expectError(await dispatch(tableOf(async () => 0), 'x'.repeat(100_000), {}, context));
    expect(error.kind).toBe('unknown-call');
    expect(error.message.length).toBeLessThan(200);
  });

  it('refuses a non-object payload with invalid-payload naming the channel', async () => {
    const handler = vi.fn(async () => 'ran');
    for (const payload of [42, 'system', true, [], [1, 2], () => 1]) {
      const error = expectError(await dispatch(tableOf(handler), 'system.info', payload, context));
      expect(error.kind, String(payload)).toBe('invalid-payload');
      expect(error.message).toMatch(/^system\.info: /);
    }
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses extra keys with invalid-payload naming the channel and the key', async () => {
    const handler = vi.fn(async () => 'ran');
    const error = expectError(await dispatch(tableOf(handler), 'system.info', { sneaky: 1 }, context));
    expect(error.kind).toBe('invalid-payload');
    expect(error.message).toContain('system.info');
    expect(error.message).toContain('sneaky');
    expect(handler).not.toHaveBeenCalled();
  });

  it('treats a missing payload (null/undefined) as no arguments', async () => {
    const handler = vi.fn(async (input: unknown) => ({ got: input }));
    for (const payload of [undefined, null, {}]) {
      expect(await dispatch(tableOf(handler), 'system.info', payload, context)).toEqual({ ok: true, value: { got: {} } });
    }
  });

  it('runs the handler with the validated input and the caller context, and returns its value', async () => {
    const handler = vi.fn(async (_input: unknown, callContext: CallContext) => `hello from ${callContext.shell}`);
    const result = await dispatch(tableOf(handler), 'system.info', {}, { shell: 'browser' });
    expect(result).toEqual({ ok: true, value: 'hello from browser' });
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler).toHaveBeenCalledWith({}, { shell: 'browser' });
  });

  it('turns an AtelierError thrown by a handler into its kind and message', async () => {
    const message = 'A training run is already in progress; stop it first.';
    const result = await dispatch(
      tableOf(async () => {
        throw new AtelierError('busy', message);
      }),
      'system.info',
      {},
      context,
    );
    expect(result).toEqual({ ok: false, error: { kind: 'busy', message } });
  });

  it('turns a plain Error into internal, keeping its message', async () => {
    const result = await dispatch(
      tableOf(async () => {
        throw new TypeError('cannot read properties of undefined');
      }),
      'system.info',
      {},
      context,
    );
    expect(result).toEqual({ ok: false, error: { kind: 'internal', message: 'cannot read properties of undefined' } });
  });

  it('turns a synchronous throw (a handler that is not async) into a result too', async () => {
    const handlers = tableOf((() => {
      throw new Error('sync');
    }) as unknown as () => Promise<unknown>);
    expect(expectError(await dispatch(handlers, 'system.info', {}, context))).toEqual({ kind: 'internal', message: 'sync' });
  });

  it('turns a thrown non-Error, even one without a prototype, into internal', async () => {
    for (const thrown of [Object.create(null), [Object.create(null)], 'plain string', undefined, 0]) {
      const result = await dispatch(
        tableOf(async () => {
          throw thrown;
        }),
        'system.info',
        {},
        context,
      );
      const error = expectError(result);
      expect(error.kind).toBe('internal');
      expect(error.message.length).toBeGreaterThan(0);
    }
  });

  it('turns ENOSPC into disk-full with advice', async () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    const error = expectError(
      await dispatch(
        tableOf(async () => {
          throw enospc;
        }),
        'system.info',
        {},
        context,
      ),
    );
    expect(error.kind).toBe('disk-full');
    expect(error.message).toContain('no space left on device');
    expect(error.message).toMatch(/free some space/i);
  });
});

describe('dispatch never throws past the boundary (property)', () => {
  it('for every channel, any payload gives a CallResult (fake table that echoes)', async () => {
    const handlers = tableOf(async (input) => ({ echoed: input }));
    for (const channel of CALL_NAMES) {
      await fc.assert(
        fc.asyncProperty(anyPayload, async (payload) => {
          const result = await dispatch(handlers, channel, payload, context);
          assertCallResult(result);
          // A payload the contract accepts reaches the handler; one it refuses is named back.
          const accepted = calls[channel].input.safeParse(payload ?? {}).success;
          expect(result.ok).toBe(accepted);
          if (!result.ok) expect(result.error).toMatchObject({ kind: 'invalid-payload', message: expect.stringContaining(channel) });
        }),
        { numRuns: 200 },
      );
    }
  });

  it('whatever a handler throws, the caller gets a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CALL_NAMES), anyPayload, async (channel, thrown) => {
        const handlers = tableOf(async () => {
          throw thrown;
        });
        // Only channels whose empty input is valid reach the handler; the others must still answer.
        const result = await dispatch(handlers, channel, {}, context);
        assertCallResult(result);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('any channel value outside the contract gives unknown-call', async () => {
    const handler = vi.fn(async () => 'ran');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), anyPayload).filter((channel) => !(CALL_NAMES as unknown[]).includes(channel)),
        anyPayload,
        async (channel, payload) => {
          const result = await dispatch(tableOf(handler), channel, payload, context);
          assertCallResult(result);
          expect(expectError(result).kind).toBe('unknown-call');
        },
      ),
      { numRuns: 300 },
    );
    expect(handler).not.toHaveBeenCalled();
  });

  describe('with the handler table built by createAtelier (fake engine worker)', () => {
    let dir: string;
    let atelier: Atelier;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'atelier-dispatch-'));
      // Nothing outside the temp folder: no FASHION_MNIST_DIR, no /usr/share copy, and a download
      // mirror that refuses at once (a generated `{}` is a valid dataset.download request).
      atelier = createAtelier({
        engineWorkerUrl: writeFakeEngineWorker(dir),
        home: join(dir, 'home'),
        preferBackend: null,
        datasetSources: { env: {}, systemDir: join(dir, 'no-system-copy'), mirrors: [await closedPortUrl()] },
      });
    });

    afterAll(async () => {
      await atelier.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('has a handler for every channel of the contract', () => {
      for (const channel of CALL_NAMES) expect(typeof atelier.handlers[channel], channel).toBe('function');
    });

    it('for every channel, any payload gives a CallResult, and every ok value matches the contract', async () => {
      const okSeen = new Set<CallName>();
      for (const channel of CALL_NAMES) {
        await fc.assert(
          fc.asyncProperty(anyPayload, async (payload) => {
            const result = await dispatch(atelier.handlers, channel, payload, { shell: 'cli' });
            assertCallResult(result);
            if (result.ok) {
              okSeen.add(channel);
              const output = calls[channel].output.safeParse(result.value);
              expect(output.success, `${channel} returned a value outside the contract: ${output.error?.message}`).toBe(true);
            }
          }),
          { numRuns: 200 },
        );
      }
      // system.info takes no arguments, so the generator hits its valid payload (undefined, null, {}).
      expect(okSeen.has('system.info')).toBe(true);
    });
  });
});
