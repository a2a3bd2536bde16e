/** The myPhotos.* calls as every shell makes them: through `dispatch` on the table `createAtelier` builds. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAtelier, type Atelier } from './app';
import { calls, events, type CallName, type CallOutput, type EventPayload } from './contract';
import { dispatch, type CallContext } from './dispatch';

// My photos never starts the engine, so its worker is never loaded.
const NO_ENGINE = pathToFileURL(join(tmpdir(), 'atelier-no-engine-worker.mjs'));

/** A small textured photo, different for every seed. */
async function photo(seed: number, format: 'png' | 'jpeg' = 'jpeg'): Promise<Buffer> {
  const width = 40;
  const height = 30;
  const data = Buffer.alloc(width * height * 3);
  let state = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < data.length; i += 1) {
    state = (state * 1664525 + 1013904223) >>> 0;
    data[i] = state >>> 24;
  }
  const image = sharp(data, { raw: { width, height, channels: 3 } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}

const upload = (name: string, bytes: Buffer): { name: string; base64: string } => ({ name, base64: bytes.toString('base64') });

describe('myPhotos.* handlers through dispatch', () => {
  let dir: string;
  let atelier: Atelier;
  let changes: EventPayload<'myPhotos.changed'>[];

  /** Call as `shell` would; whatever comes back must be what the contract promises. */
  async function call<C extends CallName>(channel: C, input: unknown, shell: CallContext['shell'] = 'browser'): Promise<CallOutput<C>> {
    const result = await dispatch(atelier.handlers, channel, input, { shell });
    if (!result.ok) throw new Error(`${channel}: ${result.error.kind}: ${result.error.message}`);
    expect(calls[channel].output.safeParse(result.value).success, `${channel} output`).toBe(true);
    return result.value as CallOutput<C>;
  }

  async function refusal(channel: CallName, input: unknown): Promise<{ kind: string; message: string }> {
    const result = await dispatch(atelier.handlers, channel, input, { shell: 'browser' });
    if (result.ok) throw new Error(`${channel} ${JSON.stringify(input).slice(0, 200)}: expected an error`);
    return result.error;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'atelier-my-photos-handlers-'));
    atelier = createAtelier({ engineWorkerUrl: NO_ENGINE, home: join(dir, 'home'), datasetSources: { env: {}, systemDir: join(dir, 'no-system') } });
    changes = [];
    atelier.events.subscribe((name, payload) => {
      if (name === 'myPhotos.changed') {
        expect(events['myPhotos.changed'].safeParse(payload).success).toBe(true);
        changes.push(payload as EventPayload<'myPhotos.changed'>);
      }
    });
  });

  afterEach(async () => {
    await atelier.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an empty collection lists no photos, ten zero counts and the class names', async () => {
    const listing = await call('myPhotos.list', {});
    expect(listing).toEqual({ photos: [], counts: new Array(10).fill(0), classNames: expect.arrayContaining(['Sneaker', 'Ankle boot']), problems: [] });
    expect(listing.classNames).toHaveLength(10);
  });

  it('adds a folder from disk: the desktop app and the CLI see the paths, a browser does not', async () => {
    const folder = join(dir, 'shoes');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.jpg'), await photo(1));
    writeFileSync(join(folder, 'b.png'), await photo(2, 'png'));
    const added = await call('myPhotos.add', { paths: [folder], label: 7 }, 'electron');
    expect(added.added.map((p) => [p.name, p.label, p.className, p.origin, p.note])).toEqual([
      ['a.jpg', 7, 'Sneaker', 'file', 'added'],
      ['b.png', 7, 'Sneaker', 'file', 'added'],
    ]);
    expect(added.added[0]!.sourcePath).toBe(join(folder, 'a.jpg'));
    expect(added.added[0]!.file).toMatch(new RegExp(`^${join(dir, 'home', 'photos', 'files')}`));
    expect(changes).toEqual([{ change: 'added', ids: added.added.map((p) => p.id) }]);

    const inBrowser = await call('myPhotos.list', {}, 'browser');
    expect(inBrowser.counts[7]).toBe(2);
    expect(inBrowser.photos.map((p) => [p.sourcePath, p.file])).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(JSON.stringify(inBrowser)).not.toContain(dir);
    expect((await call('myPhotos.list', {}, 'cli')).photos.every((p) => p.file !== null)).toBe(true);
  });

  it('relabels and removes; each change is announced, and an unknown id is reported without failing the rest', async () => {
    const { added } = await call('myPhotos.addFiles', { files: [upload('one.jpg', await photo(3)), upload('two.jpg', await photo(4))], label: 0, note: 'classify' });
    const [one, two] = added;
    expect(one).toMatchObject({ origin: 'upload', note: 'classify', className: 'T-shirt/top', sourcePath: null, file: null });

    const relabelled = await call('myPhotos.relabel', { id: one!.id.toUpperCase(), label: 9 });
    expect(relabelled).toMatchObject({ id: one!.id, label: 9, className: 'Ankle boot' });
    expect((await call('myPhotos.list', {})).counts.slice(0, 10)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

    const removed = await call('myPhotos.remove', { ids: [two!.id, 'abcdef123456'] });
    expect(removed.removed).toEqual([two!.id]);
    expect(removed.problems).toEqual([{ name: 'abcdef123456', id: null, error: { kind: 'not-found', message: expect.stringContaining('No photo with id abcdef123456') } }]);
    expect((await call('myPhotos.list', {})).photos.map((p) => p.id)).toEqual([one!.id]);
    expect(changes.map((change) => change.change)).toEqual(['added', 'relabelled', 'removed']);
    expect((await refusal('myPhotos.relabel', { id: two!.id, label: 3 })).kind).toBe('not-found');
  });

  it('the same photo added twice keeps its first label, unless the answer was marked on Classify (relabelExisting)', async () => {
    const bytes = await photo(5);
    await call('myPhotos.addFiles', { files: [upload('coat.jpg', bytes)], label: 4 });
    const again = await call('myPhotos.addFiles', { files: [upload('coat-copy.jpg', bytes)], label: 6 });
    expect(again.added).toEqual([]);
    expect(again.existing.map((p) => [p.name, p.label])).toEqual([['coat.jpg', 4]]);
    expect(changes).toHaveLength(1);

    const marked = await call('myPhotos.addFiles', { files: [upload('coat-copy.jpg', bytes)], label: 6, note: 'classify', relabelExisting: true });
    expect(marked.existing.map((p) => [p.label, p.className])).toEqual([[6, 'Shirt']]);
    expect(changes.at(-1)).toEqual({ change: 'relabelled', ids: [marked.existing[0]!.id] });
    expect((await call('myPhotos.list', {})).counts[6]).toBe(1);
  });

  it('an undecodable upload is reported with its name and why, and the others are added', async () => {
    const result = await call('myPhotos.addFiles', { files: [upload('notes.jpg', Buffer.from('this is not a photo at all')), upload('fine.jpg', await photo(6))], label: 2 });
    expect(result.added.map((p) => p.name)).toEqual(['fine.jpg']);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ name: 'notes.jpg', id: null, error: { kind: 'photo-unsupported' } });
    expect(result.problems[0]!.error.message).toContain('notes.jpg');
    expect((await call('myPhotos.list', {})).photos).toHaveLength(1);
  });

  it('a damaged entry is listed as a problem with the id that removes it; the rest still list', async () => {
    const { added } = await call('myPhotos.addFiles', { files: [upload('a.jpg', await photo(7)), upload('b.jpg', await photo(8))], label: 3 });
    writeFileSync(join(dir, 'home', 'photos', 'entries', `${added[0]!.sha256}.json`), '{"version": 1, "sha');
    const listing = await call('myPhotos.list', {});
    expect(listing.photos.map((p) => p.id)).toEqual([added[1]!.id]);
    expect(listing.counts[3]).toBe(1);
    expect(listing.problems).toEqual([{ name: expect.stringContaining(added[0]!.sha256), id: added[0]!.id, error: { kind: 'photo-corrupt', message: expect.stringContaining('damaged') } }]);
    expect((await call('myPhotos.remove', { ids: [listing.problems[0]!.id] })).removed).toEqual([added[0]!.id]);
    expect((await call('myPhotos.list', {})).problems).toEqual([]);
  });

  it('thumbnails are small JPEGs of the kept photos; an unknown id is reported', async () => {
    const { added } = await call('myPhotos.addFiles', { files: [upload('big.png', await sharp({ create: { width: 600, height: 300, channels: 4, background: { r: 200, g: 20, b: 20, alpha: 0.5 } } }).png().toBuffer())], label: 8 });
    const { thumbnails, problems } = await call('myPhotos.thumbnails', { ids: [added[0]!.id, 'fedcba987654'] });
    expect(problems.map((p) => p.error.kind)).toEqual(['not-found']);
    expect(thumbnails.map((t) => t.id)).toEqual([added[0]!.id]);
    const [header, base64] = thumbnails[0]!.dataUrl.split(',');
    expect(header).toBe('data:image/jpeg;base64');
    const meta = await sharp(Buffer.from(base64!, 'base64')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 96, 48]);
    const bigger = await call('myPhotos.thumbnails', { ids: [added[0]!.id], size: 200 });
    expect((await sharp(Buffer.from(bigger.thumbnails[0]!.dataUrl.split(',')[1]!, 'base64')).metadata()).width).toBe(200);
  });

  it('refuses labels outside 0–9, relative paths, ids that are not hex and too many thumbnails, naming the field', async () => {
    const cases: [CallName, unknown, string][] = [
      ['myPhotos.addFiles', { files: [upload('a.jpg', Buffer.from('x'))], label: 10 }, 'label'],
      ['myPhotos.addFiles', { files: [upload('a.jpg', Buffer.from('x'))], label: 'Sneaker' }, 'label'],
      ['myPhotos.add', { paths: ['shoes/a.jpg'], label: 7 }, 'paths.0'],
      ['myPhotos.relabel', { id: 'not-an-id', label: 1 }, 'id'],
      ['myPhotos.remove', { ids: [] }, 'ids'],
      ['myPhotos.thumbnails', { ids: new Array(61).fill('abcdef') }, 'ids'],
    ];
    for (const [channel, input, field] of cases) {
      const error = await refusal(channel, input);
      expect(error.kind, channel).toBe('invalid-payload');
      expect(error.message, channel).toContain(`${field}:`);
    }
  });
});
