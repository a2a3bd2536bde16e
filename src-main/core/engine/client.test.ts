import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineInfoSchema, type EngineInfo } from '../../contract';
import { engineWorkerUrl } from '../../locations';
import { AtelierError } from '../errors';
import { EngineClient } from './client';
import type { EngineMethod } from './protocol';

const LADDER = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const NATIVE = ['tensorflow-gpu', 'tensorflow'];

const clients: EngineClient[] = [];
function newClient(workerUrl: URL, preferBackend: string | null): EngineClient {
  const client = new EngineClient({ workerUrl, preferBackend });
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.terminate()));
});

/** A method the worker does not know, to reach its error path through the typed `request`. */
const unknownMethod = (name: string): EngineMethod => name as EngineMethod;

describe('EngineClient with the real worker (from source)', () => {
  it('walks the whole ladder with no preference: wasm here, native rungs skipped with reasons', async () => {
    const client = newClient(engineWorkerUrl(), null);
    const statusEvents: EngineInfo[] = [];
    client.onEvent((name, payload) => {
      // The listener is generic over every engine event; the name tells which payload this is.
      if (name === 'engine.status') statusEvents.push(payload as EngineInfo);
    });

    const info = EngineInfoSchema.parse(await client.info());

    expect(info.state).toBe('ready');
    expect(info.error).toBeNull();
    expect(info.tfjsVersion).toMatch(/^4\.22\./);
    expect(info.ladder.map((rung) => rung.name)).toEqual(LADDER);
    // tfjs-node cannot be installed on our machines; where it is, the native CPU rung wins.
    expect(['wasm', 'tensorflow']).toContain(info.backend);
    const usedIndex = LADDER.indexOf(info.backend!);
    info.ladder.forEach((rung, index) => {
      if (index < usedIndex) {
        expect(rung.outcome, rung.name).toBe('skipped');
        expect(rung.reason?.trim().length, `${rung.name} must say why it was skipped`).toBeGreaterThan(0);
        expect(rung.reason).toContain(rung.package);
      } else if (index === usedIndex) {
        expect(rung).toMatchObject({ outcome: 'used', reason: null });
      } else {
        expect(rung).toMatchObject({ outcome: 'not-tried', reason: null });
      }
    });
    for (const name of NATIVE.filter((native) => native !== info.backend)) {
      expect(info.ladder.find((rung) => rung.name === name)?.outcome).toBe('skipped');
    }
    if (info.backend === 'wasm') {
      expect(typeof info.features.simd).toBe('boolean');
      expect(info.features.trainingKernels).toBeGreaterThan(0);
      expect(info.features.denseStepThreads).toBe(Math.min(4, availableParallelism()));
      expect(info.features.cnnTrainingThreads).toBe(Math.min(16, availableParallelism()));
    }

    // The worker announces its backend as an event too, and the client remembers it.
    expect(statusEvents).toEqual([info]);
    expect(client.lastInfo).toEqual(info);
  });

  it('honours preferBackend "cpu": every rung above it is skipped with the ATELIER_BACKEND reason', async () => {
    const client = newClient(engineWorkerUrl(), 'cpu');
    const info = await client.info();

    expect(info.state).toBe('ready');
    expect(info.backend).toBe('cpu');
    expect(info.ladder.map((rung) => rung.name)).toEqual(LADDER);
    for (const rung of info.ladder.slice(0, 3)) {
      expect(rung.outcome, rung.name).toBe('skipped');
      expect(rung.reason).toContain('ATELIER_BACKEND=cpu');
    }
    expect(info.ladder[3]).toMatchObject({ name: 'cpu', outcome: 'used', reason: null });

    // A second call reuses the running worker and reports the same facts.
    expect(await client.info()).toEqual(info);
    expect(client.running).toBe(true);

    // An error inside the worker crosses back as an AtelierError, and the worker keeps serving.
    const unknown = client.request(unknownMethod('no-such-method'), {});
    await expect(unknown).rejects.toBeInstanceOf(AtelierError);
    await expect(unknown).rejects.toMatchObject({ kind: 'internal', message: expect.stringContaining('no-such-method') });
    expect((await client.info()).backend).toBe('cpu');
  });

  it('terminate() rejects the pending request with engine-crashed; the next call starts a fresh worker', async () => {
    const client = newClient(engineWorkerUrl(), 'cpu');
    const exits: string[] = [];
    client.onExit((reason) => exits.push(reason));

    // The worker is still choosing its backend, so this request is pending.
    const pending = client.info();
    expect(client.running).toBe(true);
    await client.terminate();

    await expect(pending).rejects.toBeInstanceOf(AtelierError);
    await expect(pending).rejects.toMatchObject({ kind: 'engine-crashed', message: expect.stringContaining('"info"') });
    expect(client.running).toBe(false);
    expect(exits).toHaveLength(1);

    const info = await client.info();
    expect(info).toMatchObject({ state: 'ready', backend: 'cpu' });
    expect(client.running).toBe(true);
    expect(exits).toHaveLength(1);
  });
});

describe('EngineClient when the worker crashes', () => {
  let dir: string;
  let crashingWorker: URL;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'atelier-engine-client-'));
    const file = join(dir, 'crashing-worker.mjs');
    // Answers `info` with a minimal report; an uncaught exception on `crash` kills the thread.
    writeFileSync(
      file,
      `import { parentPort } from 'node:worker_threads';
parentPort.on('message', (request) => {
  if (request.method === 'crash') throw new Error('simulated crash in the engine');
  parentPort.postMessage({ type: 'result', id: request.id, ok: true,
    value: { state: 'ready', backend: 'cpu', tfjsVersion: null, features: {}, ladder: [], error: null } });
});
`,
    );
    crashingWorker = pathToFileURL(file);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects the pending request with engine-crashed, naming the method and the cause', async () => {
    const client = newClient(crashingWorker, null);
    await client.info();
    const exits: string[] = [];
    client.onExit((reason) => exits.push(reason));

    const crashed = client.request(unknownMethod('crash'), {});
    await expect(crashed).rejects.toMatchObject({
      kind: 'engine-crashed',
      message: expect.stringMatching(/"crash".*simulated crash in the engine/),
    });
    expect(exits.length).toBeGreaterThanOrEqual(1);
  });

  it('a request made right after a crash goes to a fresh worker and is not failed by the old one exiting', async () => {
    const client = newClient(crashingWorker, null);
    await client.info();

    // Retrying as soon as the crash is reported is natural for a caller; the dead worker's late
    // 'exit' event must not be taken for the new worker's.
    const retried = client.request(unknownMethod('crash'), {}).catch(() => client.info());

    await expect(retried).resolves.toMatchObject({ state: 'ready' });
    expect(client.running).toBe(true);
    await expect(client.info()).resolves.toMatchObject({ state: 'ready' });
  });
});
