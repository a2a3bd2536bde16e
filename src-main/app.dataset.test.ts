/** The dataset calls as every shell makes them: through `dispatch` on the table `createAtelier` builds. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAtelier, type Atelier, type AtelierOptions } from './app';
import { calls, events, type CallName, type CallResult, type EventName } from './contract';
import { DATASET_FILES } from './core/dataset/files';
import { PIXELS_PER_IMAGE } from './core/fashion-mnist';
import { HAVE_REAL_DATA, REAL_DIR, needsRealData } from './core/dataset/test-helpers';
import { startMirror } from './core/dataset/test-mirror';
import { dispatch } from './dispatch';

// The dataset calls never start the engine, so its worker is never loaded.
const NO_ENGINE = pathToFileURL(join(tmpdir(), 'atelier-no-engine-worker.mjs'));

describe('dataset.* handlers through dispatch', () => {
  let dir: string;
  let atelier: Atelier;
  let seen: { name: EventName; payload: unknown }[];

  const make = (options: Partial<AtelierOptions> = {}): Atelier => {
    const made = createAtelier({ engineWorkerUrl: NO_ENGINE, home: join(dir, 'home'), datasetSources: { env: {}, systemDir: join(dir, 'no-system') }, ...options });
    made.events.subscribe((name, payload) => seen.push({ name, payload }));
    return made;
  };

  const call = async (channel: CallName, input: unknown, shell: 'cli' | 'browser' | 'electron' = 'browser'): Promise<CallResult<unknown>> => {
    const result = await dispatch(atelier.handlers, channel, input, { shell });
    // Whatever comes back must be what the contract promises.
    if (result.ok) expect(calls[channel].output.safeParse(result.value).success, `${channel} output`).toBe(true);
    return result;
  };

  const errorOf = async (channel: CallName, input: unknown): Promise<{ kind: string; message: string }> => {
    const result = await call(channel, input);
    if (result.ok) throw new Error(`${channel} ${JSON.stringify(input)}: expected an error`);
    return result.error;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'atelier-dataset-handlers-'));
    seen = [];
    atelier = make();
  });

  afterEach(async () => {
    await atelier.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad inputs with invalid-payload naming the field, before touching the data', async () => {
    const bad: [CallName, unknown, string][] = [
      ['dataset.page', { split: 'validation', offset: 0, count: 10 }, 'split'],
      ['dataset.page', { split: 'train', offset: -1, count: 10 }, 'offset'],
      ['dataset.page', { split: 'train', offset: 0.5, count: 10 }, 'offset'],
      ['dataset.page', { split: 'train', offset: 0, count: 0 }, 'count'],
      ['dataset.page', { split: 'train', offset: 0, count: 501 }, 'count'],
      ['dataset.page', { split: 'train', offset: 0, count: 10, classFilter: 10 }, 'classFilter'],
      ['dataset.page', { split: 'train', offset: 0, count: 10, extra: 1 }, 'extra'],
      ['dataset.image', { split: 'test', index: -1 }, 'index'],
      ['dataset.image', { split: 'test' }, 'index'],
      ['dataset.chooseFolder', { path: '' }, 'path'],
      ['dataset.chooseFolder', { path: '   ' }, 'path'],
      ['dataset.chooseFolder', { path: 42 }, 'path'],
      ['dataset.chooseFolder', {}, 'path'],
      ['dataset.chooseFolder', { path: 'a\0b' }, 'path'],
      ['dataset.download', { mirror: 'file:///etc/' }, 'mirror'],
      ['dataset.download', { mirror: 'not a url' }, 'mirror'],
      ['dataset.summary', { split: 'train' }, 'split'],
      ['dataset.cancelDownload', { now: true }, 'now'],
    ];
    for (const [channel, input, field] of bad) {
      const error = await errorOf(channel, input);
      expect(error.kind, `${channel} ${JSON.stringify(input)}`).toBe('invalid-payload');
      expect(error.message, `${channel} ${JSON.stringify(input)}`).toContain(field);
    }
    expect(seen).toEqual([]);
  });

  it('without data: summary and page answer dataset-missing with the three ways, sources says none', async () => {
    for (const [channel, input] of [
      ['dataset.summary', {}],
      ['dataset.page', { split: 'train', offset: 0, count: 25 }],
      ['dataset.image', { split: 'train', index: 0 }],
    ] as const) {
      const error = await errorOf(channel, input);
      expect(error.kind, channel).toBe('dataset-missing');
      expect(error.message, channel).toContain('apt install dataset-fashion-mnist');
    }
    const sources = await call('dataset.sources', {});
    expect(sources.ok && sources.value).toMatchObject({ using: null, chosenDir: null, download: { state: 'idle' } });
  });

  it('pickFolder is unsupported without a dialog and asks the dialog when the shell gives one', async () => {
    expect(await errorOf('dataset.pickFolder', {})).toMatchObject({ kind: 'unsupported' });
    await atelier.dispose();
    atelier = make({ pickFolder: async () => '/picked/folder' });
    expect(await call('dataset.pickFolder', {}, 'electron')).toEqual({ ok: true, value: { path: '/picked/folder' } });
  });

  it('chooseFolder refuses a folder without the data and changes nothing', async () => {
    const error = await errorOf('dataset.chooseFolder', { path: join(dir, 'nothing-here') });
    expect(error.kind).toBe('dataset-missing');
    expect(error.message).toContain(join(dir, 'nothing-here'));
    expect(seen).toEqual([]);
    expect(await call('dataset.cancelDownload', {})).toEqual({ ok: true, value: { cancelled: false } });
  });

  it('a download that cannot reach any mirror ends in dataset.changed with the reason, not in a hanging call', async () => {
    const { closedPortUrl } = await import('./core/dataset/test-mirror');
    const ended = new Promise<{ download: { state: string; error: string | null } }>((resolve) =>
      atelier.events.subscribe((name, payload) => {
        if (name === 'dataset.changed') resolve(payload as { download: { state: string; error: string | null } });
      }),
    );
    const started = await call('dataset.download', { mirror: await closedPortUrl() });
    expect(started.ok).toBe(true);
    const end = await ended;
    expect(end.download.state).toBe('failed');
    expect(end.download.error).toMatch(/no mirror could be reached/);
  });

  describe.skipIf(!HAVE_REAL_DATA)('with the real files', () => {
    it(needsRealData('chooseFolder → dataset.changed; summary, page and image follow the contract; out-of-range index is not-found'), async () => {
      const chosen = await call('dataset.chooseFolder', { path: `  ${REAL_DIR}  ` });
      expect(chosen.ok && chosen.value).toMatchObject({ using: 'user-folder', chosenDir: REAL_DIR });
      expect(seen.map((event) => event.name)).toEqual(['dataset.changed']);

      const summary = await call('dataset.summary', {});
      expect(summary.ok && summary.value).toMatchObject({ source: { kind: 'user-folder', dir: REAL_DIR }, verified: true, train: { count: 60_000 }, test: { count: 10_000 } });

      const page = await call('dataset.page', { split: 'train', offset: 0, count: 25 });
      if (!page.ok) throw new Error(page.error.message);
      const value = page.value as { labels: number[]; pixels: string; total: number };
      expect(value.total).toBe(60_000);
      expect(value.labels).toHaveLength(25);
      expect(Buffer.from(value.pixels, 'base64').byteLength).toBe(25 * PIXELS_PER_IMAGE);

      const bag = await call('dataset.page', { split: 'test', classFilter: 8, offset: 0, count: 1 });
      const index = bag.ok ? (bag.value as { indices: number[] }).indices[0] : -1;
      expect(await call('dataset.image', { split: 'test', index })).toMatchObject({ ok: true, value: { label: 8, className: 'Bag' } });

      expect(await errorOf('dataset.image', { split: 'test', index: 10_000 })).toMatchObject({ kind: 'not-found' });
    });

    it(needsRealData('download sends dataset.progress events to every UI and ends with dataset.changed'), async () => {
      const mirror = await startMirror(REAL_DIR);
      try {
        const ended = new Promise<unknown>((resolve) =>
          atelier.events.subscribe((name, payload) => {
            if (name === 'dataset.changed' && (payload as { download: { state: string } }).download.state !== 'running') resolve(payload);
          }),
        );
        const result = await call('dataset.download', { mirror: mirror.url });
        expect(result.ok && result.value).toMatchObject({ using: null, download: { state: 'running' } }); // answered at once
        expect(await ended).toMatchObject({ using: 'cache', download: { state: 'done', error: null } });
        const progress = seen.filter((event) => event.name === 'dataset.progress');
        expect(progress.length).toBeGreaterThanOrEqual(DATASET_FILES.length * 3);
        for (const event of progress) expect(events['dataset.progress'].safeParse(event.payload).success).toBe(true);
        expect(seen.at(-1)?.name).toBe('dataset.changed');
        expect(events['dataset.changed'].safeParse(seen.at(-1)?.payload).success).toBe(true);
      } finally {
        await mirror.close();
      }
    });
  });
});
