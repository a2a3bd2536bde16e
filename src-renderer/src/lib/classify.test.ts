/**
 * ClassifyState with a fake bridge: what a person sees in the card list when a selection is
 * large enough to be sent in several calls, and when selections follow one another.
 */
import { describe, expect, it, vi } from 'vitest';
import { PHOTO_UPLOAD_MAX_BYTES, type AtelierBridge, type PhotoBatch, type PhotoResult } from '../../../src-main/contract';
import { ClassifyState } from './classify.svelte';

const RUN: PhotoBatch['run'] = { id: 'run-1', name: 'run 1', preset: 'tutorial-mlp', testAccuracy: 0.85, photoCount: 0, parentRunId: null };

function result(name: string, path: string | null, run: PhotoBatch['run'] = RUN): PhotoResult {
  const probabilities = [0.91, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01];
  return { ok: true, name, path, classIndex: 0, className: 'T-shirt/top', confidence: 0.91, probabilities, notSure: false, foundGarment: true, notes: [], steps: null, runId: run.id };
}

/** A bridge whose classify calls answer in order, one result per photo, and record what they were sent. */
function fakeBridge(options: { failCall?: number; holdCall?: { number: number; until: Promise<void> }; runs?: PhotoBatch['run'][] } = {}) {
  const calls: string[][] = [];
  const answer = async (names: string[], paths: (string | null)[]) => {
    calls.push(names);
    if (calls.length === options.holdCall?.number) await options.holdCall.until;
    if (calls.length === options.failCall) return { ok: false as const, error: { kind: 'no-model', message: 'No model is chosen to classify photos.' } };
    const run = options.runs?.[calls.length - 1] ?? RUN;
    return { ok: true as const, value: { run, preprocessing: 'atelier' as const, classNames: [], results: names.map((name, i) => result(name, paths[i]!, run)) } };
  };
  const bridge = {
    on: () => () => undefined,
    photos: {
      classifyFiles: ({ files }: { files: { name: string }[] }) => answer(files.map((file) => file.name), files.map(() => null)),
      classifyPaths: ({ paths }: { paths: string[] }) => answer(paths.map((path) => path.split('/').pop()!), paths),
    },
  } as unknown as AtelierBridge;
  return { bridge, calls };
}

const jpeg = (name: string): File => new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], name, { type: 'image/jpeg' });
const names = (count: number, prefix = 'photo'): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(3, '0')}.jpg`);

async function settled(state: ClassifyState): Promise<void> {
  await vi.waitFor(() => expect(state.busy).toBe(false));
}

describe('ClassifyState card order', () => {
  it('250 photos opened at once (three calls of at most 100) give cards in the selection order', async () => {
    const { bridge, calls } = fakeBridge();
    const state = new ClassifyState(bridge, 'browser');
    const chosen = names(250);
    state.open(chosen.map(jpeg));
    await settled(state);
    expect(calls.map((call) => call.length)).toEqual([100, 100, 50]);
    expect(state.cards.map((card) => card.name)).toEqual(chosen);
    expect(new Set(state.cards.map((card) => card.key)).size).toBe(250);
    expect([state.ok, state.failed]).toEqual([250, 0]);
  });

  it('1,200 paths (three calls of at most 500) keep their order; a later selection goes on top, in its own order', async () => {
    const { bridge, calls } = fakeBridge();
    const state = new ClassifyState(bridge, 'electron');
    const first = names(1200, 'first').map((name) => `/photos/${name}`);
    const second = names(3, 'second').map((name) => `/photos/${name}`);
    state.classifyPaths(first);
    state.classifyPaths(second);
    await settled(state);
    expect(calls.map((call) => call.length)).toEqual([500, 500, 200, 3]);
    expect(state.cards.map((card) => card.path)).toEqual([...second, ...first]);
  });

  it('a file the browser cannot read keeps its place among the classified ones; files too big to send lead the selection', async () => {
    const { bridge } = fakeBridge();
    const state = new ClassifyState(bridge, 'browser');
    class VanishedFile extends File {
      override arrayBuffer(): Promise<ArrayBuffer> {
        return Promise.reject(new Error('NotFoundError'));
      }
    }
    const huge = new File([new Uint8Array(PHOTO_UPLOAD_MAX_BYTES + 1)], 'huge.tif');
    state.open([jpeg('a.jpg'), new VanishedFile([new Uint8Array(4)], 'b.jpg'), huge, jpeg('c.jpg')]);
    await settled(state);
    expect(state.cards.map((card) => [card.name, card.ok ? 'ok' : card.error.kind])).toEqual([
      ['huge.tif', 'photo-too-large'],
      ['a.jpg', 'ok'],
      ['b.jpg', 'photo-unreadable'],
      ['c.jpg', 'ok'],
    ]);
  });

  it('a call that fails as a whole says why and the selection goes on with its other calls, still in order', async () => {
    const { bridge } = fakeBridge({ failCall: 2 });
    const state = new ClassifyState(bridge, 'browser');
    const chosen = names(250);
    state.open(chosen.map(jpeg));
    await settled(state);
    expect(state.cards.map((card) => card.name)).toEqual([...chosen.slice(0, 100), ...chosen.slice(200)]);
    // The last call succeeded after the failed one, so the error it cleared is gone; what remains is in order.
    expect(state.error).toBeNull();
  });

  it('cards added after the list was cleared mid-selection start a fresh list', async () => {
    let release = (): void => undefined;
    const until = new Promise<void>((resolve) => (release = resolve));
    const { bridge } = fakeBridge({ holdCall: { number: 2, until } });
    const state = new ClassifyState(bridge, 'electron');
    state.classifyPaths(names(501).map((name) => `/p/${name}`));
    // The first call's 500 cards are in; the second call waits for the release.
    await vi.waitFor(() => expect(state.cards.length).toBe(500));
    state.clear();
    release();
    await settled(state);
    expect(state.cards.map((card) => card.name)).toEqual([names(501).at(-1)]);
  });

  it('each card keeps the file its photo came from (for My photos) until the list is cleared', async () => {
    const { bridge } = fakeBridge();
    const state = new ClassifyState(bridge, 'browser');
    const files = names(3).map(jpeg);
    state.open(files);
    await settled(state);
    expect(state.cards.map((card) => state.fileFor(card.key))).toEqual(files);
    const [first] = state.cards;
    state.clear();
    expect(state.fileFor(first!.key)).toBeUndefined();
  });

  it('says which models answered the cards shown, the newest first, with how many of your photos each learnt from', async () => {
    const taught: PhotoBatch['run'] = { id: 'run-2', name: 'Tutorial MLP #2', preset: 'tutorial-mlp', testAccuracy: 0.8, photoCount: 23, parentRunId: 'run-1' };
    const { bridge } = fakeBridge({ runs: [RUN, taught, taught] });
    const state = new ClassifyState(bridge, 'electron');
    state.classifyPaths(['/p/a.jpg']);
    await settled(state);
    expect(state.answeredBy).toEqual([RUN]);
    state.classifyPaths(['/p/b.jpg']);
    await settled(state);
    expect(state.answeredBy.map((run) => [run.name, run.photoCount])).toEqual([
      ['Tutorial MLP #2', 23],
      ['run 1', 0],
    ]);
    state.clear();
    expect(state.answeredBy).toEqual([]);
    state.classifyPaths(['/p/c.jpg']);
    await settled(state);
    expect(state.answeredBy).toEqual([taught]);
  });
});
