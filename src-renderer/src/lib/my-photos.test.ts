/**
 * MyPhotosState with an in-memory bridge that answers the myPhotos.* calls as the core does
 * (content-addressed photos, labels kept on a second add unless relabelExisting, change events):
 * what a person sees after marking Classify answers, adding photos, relabelling and removing,
 * and what the Train view can read from it. The core's own answers are tested in src-main/app.my-photos.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import type { AtelierBridge, MyPhoto, MyPhotosChanged, PhotoResult } from '../../../src-main/contract';
import { CLASS_NAMES } from '../../../src-main/core/fashion-mnist';
import { describeCounts, MyPhotosState } from './my-photos.svelte';

const ok = <T>(value: T) => Promise.resolve({ ok: true as const, value });

/** Bytes as the core names them: a stand-in hash (the test photos differ in their text). */
const hashOf = (base64: string): string => Array.from(atob(base64), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('').padEnd(64, '0').slice(0, 64);

function fakeCore() {
  const photos = new Map<string, MyPhoto>();
  const listeners = new Set<(change: MyPhotosChanged) => void>();
  let listCalls = 0;
  let clock = 0;
  const emit = (change: MyPhotosChanged): void => listeners.forEach((listener) => listener(change));
  const photo = (name: string, sha256: string, label: number, note: string): MyPhoto => ({
    id: sha256.slice(0, 12), sha256, label, className: CLASS_NAMES[label]!, name, origin: 'upload', note, sourcePath: null, file: null,
    addedAt: new Date(Date.UTC(2025, 0, 1, 0, clock++)).toISOString(), bytes: 10, format: 'jpeg', width: 4, height: 4,
  });
  const add = ({ files, label, note, relabelExisting }: { files: { name: string; base64: string }[]; label: number; note?: string; relabelExisting?: boolean }) => {
    const result = { added: [] as MyPhoto[], existing: [] as MyPhoto[], problems: [] as { name: string; id: null; error: { kind: 'photo-unsupported'; message: string } }[] };
    for (const file of files) {
      if (!atob(file.base64).startsWith('photo')) {
        result.problems.push({ name: file.name, id: null, error: { kind: 'photo-unsupported', message: `${file.name}: not a photo.` } });
        continue;
      }
      const sha256 = hashOf(file.base64);
      const kept = photos.get(sha256);
      if (kept) {
        const now = relabelExisting ? { ...kept, label, className: CLASS_NAMES[label]! } : kept;
        photos.set(sha256, now);
        result.existing.push(now);
        if (now !== kept) emit({ change: 'relabelled', ids: [now.id] });
      } else {
        const made = photo(file.name, sha256, label, note ?? 'added');
        photos.set(sha256, made);
        result.added.push(made);
      }
    }
    if (result.added.length) emit({ change: 'added', ids: result.added.map((p) => p.id) });
    return ok(result);
  };
  const bridge = {
    on: (_event: string, listener: (change: MyPhotosChanged) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    myPhotos: {
      list: () => {
        listCalls += 1;
        const all = [...photos.values()].sort((a, b) => b.addedAt.localeCompare(a.addedAt));
        return ok({ photos: all, counts: CLASS_NAMES.map((_, label) => all.filter((p) => p.label === label).length), classNames: [...CLASS_NAMES], problems: [] });
      },
      addFiles: add,
      add: () => Promise.resolve({ ok: false as const, error: { kind: 'unsupported' as const, message: 'paths are not used here' } }),
      relabel: ({ id, label }: { id: string; label: number }) => {
        const kept = [...photos.values()].find((p) => p.id === id)!;
        const now = { ...kept, label, className: CLASS_NAMES[label]! };
        photos.set(kept.sha256, now);
        emit({ change: 'relabelled', ids: [id] });
        return ok(now);
      },
      remove: ({ ids }: { ids: string[] }) => {
        for (const p of [...photos.values()]) if (ids.includes(p.id)) photos.delete(p.sha256);
        emit({ change: 'removed', ids });
        return ok({ removed: ids, problems: [] });
      },
      thumbnails: ({ ids }: { ids: string[] }) =>
        ok({ thumbnails: ids.map((id) => [...photos.values()].find((p) => p.id === id)!).map((p) => ({ id: p.id, sha256: p.sha256, dataUrl: `data:image/jpeg;base64,${p.id}` })), problems: [] }),
    },
  } as unknown as AtelierBridge;
  return { bridge, photos, emit, listCalls: () => listCalls, addElsewhere: (name: string, label: number) => add({ files: [{ name, base64: btoa(`photo ${name}`) }], label }) };
}

const photoFile = (text: string, name = `${text}.jpg`): File => new File([`photo ${text}`], name, { type: 'image/jpeg' });

function card(key: string, name: string, classIndex: number): PhotoResult & { key: string; ok: true } {
  const probabilities = new Array<number>(10).fill(0.01);
  probabilities[classIndex] = 0.91;
  return { key, ok: true, name, path: null, classIndex, className: CLASS_NAMES[classIndex]!, confidence: 0.91, probabilities, notSure: false, foundGarment: true, notes: [], steps: null, runId: 'run-1' };
}

describe('MyPhotosState', () => {
  it('describeCounts names the classes that have photos, in class order', () => {
    expect(describeCounts([0, 2, 0, 0, 0, 0, 0, 1, 0, 0], ['T-shirt/top', 'Trouser', 'c2', 'c3', 'c4', 'c5', 'c6', 'Sneaker', 'c8', 'c9'])).toBe('2 Trouser · 1 Sneaker');
    expect(describeCounts(new Array(10).fill(0), [])).toBe('');
  });

  it('a card marked Wrong in the browser sends its bytes, and then says where the photo is, following relabels and removal', async () => {
    const { bridge } = fakeCore();
    const state = new MyPhotosState(bridge);
    await state.ensureLoaded();
    expect([state.loaded, state.total]).toEqual([true, 0]);

    await state.markAnswer(card('photo-1', 'shirt.jpg', 0), 7, photoFile('shirt'));
    const kept = state.keptFor('photo-1');
    expect(kept).toMatchObject({ name: 'shirt.jpg', label: 7, className: 'Sneaker', note: 'classify' });
    expect(state.perClass[7]).toEqual({ label: 7, className: 'Sneaker', count: 1 });
    expect(state.groups.map((group) => [group.className, group.photos.length])).toEqual([['Sneaker', 1]]);

    await state.relabel(kept!.id, 9);
    expect(state.keptFor('photo-1')?.className).toBe('Ankle boot');
    expect(state.countsText).toBe('1 Ankle boot');

    // The same photo marked Right on another card: the latest answer wins (relabelExisting).
    await state.markAnswer(card('photo-2', 'shirt-again.jpg', 3), 3, photoFile('shirt', 'shirt-again.jpg'));
    expect(state.keptFor('photo-1')?.className).toBe('Dress');
    expect(state.keptFor('photo-2')?.id).toBe(kept!.id);
    expect(state.total).toBe(1);

    await state.remove([kept!.id]);
    expect(state.keptFor('photo-1')).toBeNull();
    expect(state.total).toBe(0);
  });

  it('a card without a path or bytes (classified before a reload) says what to do; one the core refuses says why', async () => {
    const { bridge } = fakeCore();
    const state = new MyPhotosState(bridge);
    await state.markAnswer(card('photo-3', 'lost.jpg', 2), 2, undefined);
    expect(state.marks['photo-3']).toEqual({ state: 'failed', message: expect.stringContaining('drop the photo again') });
    await state.markAnswer(card('photo-4', 'odd.jpg', 2), 2, new File(['garbage'], 'odd.jpg'));
    expect(state.marks['photo-4']).toEqual({ state: 'failed', message: 'odd.jpg: not a photo.' });
    expect(state.keptFor('photo-4')).toBeNull();
  });

  it('adds files with one label, reports what was refused and what was kept already, and fetches thumbnails once', async () => {
    const { bridge } = fakeCore();
    const state = new MyPhotosState(bridge);
    await state.ensureLoaded();
    const files = [
      { name: 'a.jpg', file: photoFile('a') },
      { name: 'b.jpg', file: photoFile('b') },
      { name: 'notes.jpg', file: new File(['text'], 'notes.jpg') },
    ];
    await state.addFiles(files, 8);
    expect(state.lastAdd).toMatchObject({ label: 8, added: 2, existing: [], problems: [{ name: 'notes.jpg', error: { kind: 'photo-unsupported' } }] });
    expect([state.counts[8], state.adding]).toEqual([2, false]);

    await state.addFiles(files.slice(0, 1), 4);
    expect(state.lastAdd).toMatchObject({ label: 4, added: 0, existing: [{ name: 'a.jpg', label: 8 }], problems: [] });

    await state.loadThumbnails();
    expect(Object.keys(state.thumbnails).sort()).toEqual(state.photos.map((p) => p.sha256).sort());
    const spy = vi.spyOn(bridge.myPhotos, 'thumbnails');
    await state.loadThumbnails();
    expect(spy).not.toHaveBeenCalled();
  });

  it('a change made elsewhere (another window) reloads a list that was shown, and a burst of changes costs few reloads', async () => {
    const core = fakeCore();
    const state = new MyPhotosState(core.bridge);
    await state.ensureLoaded();
    await core.addElsewhere('elsewhere.jpg', 5);
    await vi.waitFor(() => expect(state.total).toBe(1));
    expect(state.photos[0]?.className).toBe('Sandal');

    const before = core.listCalls();
    for (let i = 0; i < 10; i += 1) core.emit({ change: 'relabelled', ids: [] });
    await state.reload();
    // One list in flight and one more after it, not ten.
    expect(core.listCalls() - before).toBeLessThanOrEqual(2);
  });

  it('fetches the thumbnails of some photos only (a run\'s), skipping photos that are no longer kept', async () => {
    const { bridge } = fakeCore();
    const state = new MyPhotosState(bridge);
    await state.ensureLoaded();
    await state.addFiles([{ name: 'a.jpg', file: photoFile('a') }], 2);
    const [first] = state.photos;
    const removed = { id: 'deadbeef0000', sha256: 'deadbeef'.padEnd(64, '0') };
    const spy = vi.spyOn(bridge.myPhotos, 'thumbnails');
    await state.loadThumbnailsOf([first!, removed]);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toEqual({ ids: [first!.id] });
    expect(Object.keys(state.thumbnails)).toEqual([first!.sha256]);
  });
});
