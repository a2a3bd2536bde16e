/**
 * IPC fuzzing: for every call of the contract, at least 200 generated malformed payloads through
 * the handler table `createAtelier` builds (the one every shell uses), by the Electron shell's IPC
 * handler and by the browser shell's WebSocket. Each must come back as `invalid-payload` naming
 * the channel; nothing may throw past the boundary, no handler may run, and no file may change in
 * the data folder.
 *
 * Malformed means the contract's input schema refuses it: whole random values, and "near misses"
 * that are valid but for one field (out of range, wrong type, a hostile string), one extra key or
 * one missing key, so the refinements deep inside each schema are exercised too.
 */
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { createAtelier, type Atelier } from './app';
import { closedPortUrl } from './core/dataset/test-mirror';
import { writeFakeEngineWorker } from './core/engine/test-fake-worker';
import { CALL_NAMES, calls, type CallName, type CallResult } from './contract';
import { ERROR_KINDS } from './core/errors';
import { dispatch, type Handlers } from './dispatch';

const RUNS_PER_CHANNEL = 200;

// ─── a stand-in electron for the IPC path ─────────────────────────────────────────────────────────

const electron = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, payload: unknown) => Promise<unknown>>();
  const module = {
    ipcMain: {
      handle: (channel: string, handler: (event: unknown, payload: unknown) => Promise<unknown>) => handlers.set(channel, handler),
      removeHandler: (channel: string) => handlers.delete(channel),
    },
    BrowserWindow: { getAllWindows: () => [] },
  };
  return { handlers, module };
});
vi.mock('electron', () => ({ ...electron.module, default: electron.module }));

// ─── generators ───────────────────────────────────────────────────────────────────────────────────

/** Values a careless or hostile caller might put in any field. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    NaN, Infinity, -Infinity, -0, -1, 0.5, 1.5, 2 ** 31, 2 ** 53 + 2, Number.MAX_VALUE, -Number.MAX_VALUE, 1e-300,
    '', ' ', '\0', 'a\0b', '../../../../etc/passwd', '..\\..\\..\\Windows\\win.ini', '/etc/passwd', 'C:\\Windows\\System32',
    'x'.repeat(20_000), 'file:///etc/passwd', 'javascript:alert(1)', 'http://', 'https://[::1', '%00', '${process.exit()}',
    '__proto__', 'constructor', 'prototype', 'toString', '\u202e', '\ud800', 'NaN', '1', '0x10', '1e3', 'true', 'null',
    null, undefined, true, false, [], [null], [[]], {}, { toString: 'x' }, new Date(Number.NaN), 10n, new Map(), new Set([1]),
    JSON.parse('{"__proto__": {"polluted": true}}') as unknown, Object.create(null) as unknown, new Uint8Array(4),
  ),
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, maxDepth: 3 }),
);

/** Values that might be valid for some field; used to build the valid skeleton a near miss breaks. */
function plausibleValues(scratch: string): unknown[] {
  return [
    0, 1, 2, 5, 9, 10, 32, 100, 128, 500, 1000, 0.001, 0.1, 0.5, 42, true, false, null,
    'train', 'test', 'tfjs', 'onnx', 'tutorial-mlp', 'cnn', 'run_1', join(scratch, 'nowhere'), 'http://127.0.0.1:9/',
    [{ name: 'model.json', base64: '' }], { trueClass: null, predictedClass: null, correct: null }, [], {},
    // One 28×28 image's pixels (photos.why).
    new Array<number>(784).fill(0),
  ];
}

/** Enum and literal options the schema itself names (so new fields get valid skeleton values too). */
function schemaOptions(schema: z.ZodType): unknown[] {
  try {
    const json = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as { enum?: unknown[]; const?: unknown; anyOf?: Array<{ enum?: unknown[]; const?: unknown }> };
    const options = [...(json.enum ?? []), ...(json.const !== undefined ? [json.const] : [])];
    for (const branch of json.anyOf ?? []) options.push(...(branch.enum ?? []), ...(branch.const !== undefined ? [branch.const] : []));
    return options;
  } catch {
    return [];
  }
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | null {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  return shape && typeof shape === 'object' ? shape : null;
}

/** A payload the schema accepts, built field by field from plausible values; null when none is found. */
function validSkeleton(schema: z.ZodType, scratch: string): Record<string, unknown> | null {
  const shape = objectShape(schema);
  if (!shape) return null;
  const skeleton: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const value = [...schemaOptions(field), ...plausibleValues(scratch)].find((candidate) => field.safeParse(candidate).success);
    if (value !== undefined) skeleton[key] = value;
    else if (!field.safeParse(undefined).success) return null;
  }
  return schema.safeParse(skeleton).success ? skeleton : null;
}

/** Payloads for one channel that `excluded` does not rule out: near misses of a valid skeleton, and anything at all. */
function malformedPayloads(channel: CallName, scratch: string, excluded: (payload: unknown) => boolean): fc.Arbitrary<unknown> {
  const schema = calls[channel].input as z.ZodType;
  const skeleton = validSkeleton(schema, scratch);
  const keys = Object.keys(objectShape(schema) ?? {});
  const generators: Array<fc.Arbitrary<unknown>> = [
    fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
    fc.dictionary(fc.oneof(fc.constantFrom(...keys, '__proto__', 'constructor', 'channel'), fc.string()), hostileValue, { minKeys: 1, maxKeys: 4 }),
  ];
  if (skeleton) {
    const base = skeleton;
    if (keys.length > 0) {
      generators.push(fc.tuple(fc.constantFrom(...keys), hostileValue).map(([key, value]) => ({ ...base, [key]: value })));
      generators.push(fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(base).filter(([name]) => name !== key))));
    }
    generators.push(fc.tuple(fc.string({ minLength: 1 }).filter((key) => !keys.includes(key)), hostileValue).map(([key, value]) => ({ ...base, [key]: value })));
  }
  return fc.oneof(...generators).filter((payload) => !excluded(payload));
}

// ─── the data folder must not change ──────────────────────────────────────────────────────────────

function snapshotTree(root: string): string[] {
  const entries: string[] = [];
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const info = statSync(path);
      entries.push(`${relative(root, path)} ${info.isDirectory() ? 'dir' : `${info.size}b ${info.mtimeMs}`}`);
      if (info.isDirectory()) visit(path);
    }
  };
  visit(root);
  return entries.sort();
}


/** `also`: another message prefix this path may answer with (the WebSocket's envelope check). */
function expectRefused(result: unknown, channel: CallName, how: string, also?: string): void {
  const answer = result as CallResult<unknown>;
  expect(answer.ok, `${how} ${channel}: a malformed payload was accepted`).toBe(false);
  if (answer.ok) return;
  expect(ERROR_KINDS, `${how} ${channel}`).toContain(answer.error.kind);
  expect(answer.error.kind, `${how} ${channel}: ${answer.error.message}`).toBe('invalid-payload');
  const named = answer.error.message.startsWith(`${channel}: `) || (also !== undefined && answer.error.message.startsWith(also));
  expect(named, answer.error.message).toBe(true);
  // A 20,000-character field must not come back in the message.
  expect(answer.error.message.length, `${how} ${channel}`).toBeLessThan(2_000);
}

// ─── the fuzzing ──────────────────────────────────────────────────────────────────────────────────

describe(`IPC fuzzing: ${RUNS_PER_CHANNEL} malformed payloads per channel through createAtelier's handler table`, () => {
  let dir: string;
  let atelier: Atelier;
  let countingHandlers: Handlers;
  const handlerRuns: string[] = [];
  let before: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atelier-ipc-fuzz-'));
    const home = join(dir, 'home');
    mkdirSync(home);
    atelier = createAtelier({
      engineWorkerUrl: writeFakeEngineWorker(dir),
      home,
      preferBackend: null,
      // Nothing outside the temp folder, and a download mirror that refuses at once.
      datasetSources: { env: {}, systemDir: join(dir, 'no-system-copy'), mirrors: [await closedPortUrl()] },
    });
    // The real handlers, each noting that it ran: a malformed payload must never get that far.
    countingHandlers = Object.fromEntries(
      CALL_NAMES.map((channel) => [
        channel,
        (input: unknown, context: unknown) => {
          handlerRuns.push(channel);
          return (atelier.handlers[channel] as (input: unknown, context: unknown) => Promise<unknown>)(input, context);
        },
      ]),
    ) as unknown as Handlers;
    before = snapshotTree(dir);
  });

  afterAll(async () => {
    await atelier?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the generators can build a valid skeleton for most channels (so near misses are near)', () => {
    const withInput = CALL_NAMES.filter((channel) => Object.keys(objectShape(calls[channel].input as z.ZodType) ?? {}).length > 0);
    const built = withInput.filter((channel) => validSkeleton(calls[channel].input as z.ZodType, dir) !== null);
    expect(withInput.length).toBeGreaterThan(0);
    expect(built.length / withInput.length, `no skeleton for: ${withInput.filter((channel) => !built.includes(channel)).join(', ')}`).toBeGreaterThanOrEqual(0.75);
  });

  it('dispatch: every malformed payload gets invalid-payload; nothing throws, no handler runs', async () => {
    for (const channel of CALL_NAMES) {
      const schema = calls[channel].input as z.ZodType;
      const accepts = (payload: unknown): boolean => schema.safeParse(payload ?? {}).success;
      await fc.assert(
        fc.asyncProperty(malformedPayloads(channel, dir, accepts), async (payload) => {
          // A rejection here (something thrown past the boundary) fails the property too.
          expectRefused(await dispatch(countingHandlers, channel, payload, { shell: 'cli' }), channel, 'dispatch');
        }),
        { numRuns: RUNS_PER_CHANNEL },
      );
    }
    expect(handlerRuns).toEqual([]);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('the Electron shell’s IPC handlers (trusted sender): the same, for every channel', async () => {
    const { registerIpc } = await import('./ipc/register');
    const unregister = registerIpc({ ...atelier, handlers: countingHandlers } as Atelier, () => true);
    try {
      for (const channel of CALL_NAMES) {
        const handler = electron.handlers.get(channel);
        expect(handler, channel).toBeDefined();
        const schema = calls[channel].input as z.ZodType;
        const accepts = (payload: unknown): boolean => schema.safeParse(payload ?? {}).success;
        await fc.assert(
          fc.asyncProperty(malformedPayloads(channel, dir, accepts), async (payload) => {
            expectRefused(await handler!({ senderFrame: { url: 'file:///atelier/index.html' } }, payload), channel, 'ipc');
          }),
          { numRuns: RUNS_PER_CHANNEL },
        );
      }
    } finally {
      unregister();
    }
    expect(handlerRuns).toEqual([]);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('the browser shell’s WebSocket: the same for JSON payloads, for every channel', async () => {
    const { startWebServer } = await import('./web/server');
    const rendererDir = join(dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>fuzz</title>');
    const server = await startWebServer({ atelier: { ...atelier, handlers: countingHandlers } as Atelier, rendererDir, port: 0, token: 'fuzz-token' });
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=fuzz-token`);
    const pending = new Map<number, (result: unknown) => void>();
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; id: number | null; result?: unknown };
      if (message.type === 'result' && message.id !== null) pending.get(message.id)?.(message.result);
    });
    await new Promise<void>((open, fail) => {
      socket.once('open', () => open());
      socket.once('error', fail);
    });
    const treeBefore = snapshotTree(dir);
    let nextId = 1;
    const call = (channel: CallName, input: unknown): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => reject(new Error(`${channel}: no answer`)), 10_000);
        pending.set(id, (result) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(result);
        });
        socket.send(JSON.stringify({ type: 'call', id, channel, input }));
      });
    try {
      for (const channel of CALL_NAMES) {
        const schema = calls[channel].input as z.ZodType;
        // What the server sees is the JSON round trip of the payload; BigInt and cycles cannot travel at all.
        const acceptedOrUnsendable = (payload: unknown): boolean => {
          let received: unknown;
          try {
            received = (JSON.parse(JSON.stringify({ input: payload })) as { input?: unknown }).input;
          } catch {
            return true;
          }
          return schema.safeParse(received ?? {}).success;
        };
        const jsonOnly = malformedPayloads(channel, dir, acceptedOrUnsendable);
        await fc.assert(
          fc.asyncProperty(jsonOnly, async (payload) => {
            // A call without "input" (undefined does not survive JSON) is refused by the envelope check.
            expectRefused(await call(channel, payload), channel, 'websocket', 'Malformed message');
          }),
          { numRuns: RUNS_PER_CHANNEL },
        );
      }
    } finally {
      socket.close();
      await server.close();
    }
    expect(handlerRuns).toEqual([]);
    expect(snapshotTree(dir)).toEqual(treeBefore);
  });

  it('no payload polluted Object.prototype', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
