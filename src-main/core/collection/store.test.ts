import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { AtelierError } from '../errors';
import { PhotoCollection } from './store';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

function freshHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'atelier-collection-'));
  homes.push(home);
  return home;
}

/**
 * A small photo, different for every seed: a textured 48×32 image (texture so that a cut-short
 * JPEG really is damaged, not a flat colour that decodes from its first bytes).
 */
async function photo(seed: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const width = 48;
  const height = 32;
  const data = Buffer.alloc(width * height * 3);
  let state = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < data.length; i += 1) {
    state = (state * 1664525 + 1013904223) >>> 0;
    data[i] = (state >>> 24) ^ (i % 7 === 0 ? seed & 0xff : 0);
  }
  const image = sharp(data, { raw: { width, height, channels: 3 } });
  return format === 'png' ? image.png().toBuffer() : format === 'jpeg' ? image.jpeg({ quality: 90 }).toBuffer() : image.webp().toBuffer();
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function writePhoto(dir: string, name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, bytes);
  return path;
}

/** A clock that moves a minute per call, so "newest first" does not depend on how fast the test runs. */
function steppingClock(): () => Date {
  let minute = 0;
  return () => new Date(Date.UTC(2025, 0, 1, 12, minute++));
}

describe('PhotoCollection: add, relabel, remove', () => {
  it('keeps a file with its label, source, size and format, under its content hash', async () => {
    const home = freshHome();
    const photos = freshHome();
    const bytes = await photo(1);
    const path = await writePhoto(photos, 'shirt.png', bytes);
    const store = new PhotoCollection(home);

    const result = await store.add([path], 3, { note: 'added' });

    expect(result.problems).toEqual([]);
    expect(result.existing).toEqual([]);
    expect(result.added).toHaveLength(1);
    const [entry] = result.added;
    const hash = sha256(bytes);
    expect(entry).toMatchObject({
      id: hash.slice(0, 12),
      sha256: hash,
      label: 3,
      className: 'Dress',
      source: { kind: 'file', name: 'shirt.png', path, note: 'added' },
      bytes: bytes.length,
      format: 'png',
      width: 48,
      height: 32,
      file: join(home, 'photos', 'files', `${hash}.png`),
    });
    expect(Number.isNaN(Date.parse(entry!.addedAt))).toBe(false);
    expect(await readFile(entry!.file)).toEqual(bytes);
    expect(await readdir(join(home, 'photos', 'entries'))).toEqual([`${hash}.json`]);
  });

  it('adding the same photo again, as a file or as an upload, keeps the first entry and its label', async () => {
    const home = freshHome();
    const bytes = await photo(2, 'jpeg');
    const path = await writePhoto(freshHome(), 'a.jpg', bytes);
    const store = new PhotoCollection(home);
    const first = await store.add([path], 4);

    const again = await store.add([path, { name: 'copy.jpg', bytes }], 8);

    expect(again.added).toEqual([]);
    expect(again.problems).toEqual([]);
    expect(again.existing).toHaveLength(2);
    for (const existing of again.existing) expect(existing).toMatchObject({ id: first.added[0]!.id, label: 4, source: { kind: 'file' } });
    const listing = await store.list();
    expect(listing.entries).toHaveLength(1);
    expect(listing.entries[0]!.label).toBe(4);
    expect(listing.entries[0]!.file.endsWith('.jpg')).toBe(true);
  });

  it('keeps an upload under its name without any folder part', async () => {
    const store = new PhotoCollection(freshHome());
    const { added } = await store.add([{ name: 'C:\\fakepath\\boot.webp', bytes: await photo(3, 'webp') }], 9, { note: 'classify' });
    expect(added[0]).toMatchObject({ label: 9, className: 'Ankle boot', format: 'webp', source: { kind: 'upload', name: 'boot.webp', note: 'classify' } });
    expect(added[0]!.source).not.toHaveProperty('path');
  });

  it('relabels, reads back the original bytes, and removes entry and bytes', async () => {
    const home = freshHome();
    const store = new PhotoCollection(home);
    const bytes = await photo(4);
    const other = await photo(5);
    const { added } = await store.add([{ name: 'one.png', bytes }, { name: 'two.png', bytes: other }], 0);
    const [one, two] = added;

    const relabelled = await store.relabel(one!.id, 7);
    expect(relabelled).toMatchObject({ id: one!.id, label: 7, className: 'Sneaker' });
    const listing = await store.list();
    expect(listing.entries.find((entry) => entry.id === one!.id)?.label).toBe(7);
    expect(listing.counts).toEqual([1, 0, 0, 0, 0, 0, 0, 1, 0, 0]);

    const read = await store.read(one!.id);
    expect(Buffer.from(read.bytes)).toEqual(bytes);
    expect(read.entry.label).toBe(7);

    const removed = await store.remove([one!.id, 'ffffffffffff', one!.id]);
    expect(removed.removed).toEqual([one!.id]);
    expect(removed.problems).toEqual([{ name: 'ffffffffffff', error: { kind: 'not-found', message: expect.stringContaining('No photo with id ffffffffffff') } }]);
    expect((await store.list()).entries.map((entry) => entry.id)).toEqual([two!.id]);
    expect(await readdir(join(home, 'photos', 'files'))).toEqual([`${two!.sha256}.png`]);
    await expect(store.read(one!.id)).rejects.toMatchObject({ kind: 'not-found' });
    await expect(store.relabel(one!.id, 1)).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('refuses a label out of range before touching anything', async () => {
    const home = freshHome();
    const store = new PhotoCollection(home);
    await expect(store.add([{ name: 'x.png', bytes: await photo(6) }], 10)).rejects.toMatchObject({ kind: 'invalid-payload', message: expect.stringContaining('Ankle boot') });
    await expect(store.add([{ name: 'x.png', bytes: await photo(6) }], 1.5)).rejects.toBeInstanceOf(AtelierError);
    expect((await store.list()).entries).toEqual([]);
  });

  it('lists newest first', async () => {
    const store = new PhotoCollection(freshHome(), { now: steppingClock() });
    const first = await store.add([{ name: 'first.png', bytes: await photo(7) }], 1);
    const second = await store.add([{ name: 'second.png', bytes: await photo(8) }], 2);
    const third = await store.add([{ name: 'third.png', bytes: await photo(9) }], 1);
    const listing = await store.list();
    expect(listing.entries.map((entry) => entry.source.name)).toEqual(['third.png', 'second.png', 'first.png']);
    expect(listing.entries.map((entry) => entry.id)).toEqual([third.added[0]!.id, second.added[0]!.id, first.added[0]!.id]);
    expect(listing.counts).toEqual([0, 2, 1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('resolves ids, full hashes and unambiguous prefixes; reports the rest', async () => {
    const store = new PhotoCollection(freshHome());
    const { added } = await store.add([{ name: 'a.png', bytes: await photo(10) }], 5);
    const entry = added[0]!;
    const resolved = await store.resolveIds([entry.id, entry.sha256, entry.sha256.slice(0, 6).toUpperCase(), 'not an id', '000000000000']);
    expect(resolved.entries.map((e) => e.id)).toEqual([entry.id]);
    expect(resolved.problems.map((p) => [p.name, p.error.kind])).toEqual([
      ['not an id', 'invalid-payload'],
      ['000000000000', 'not-found'],
    ]);
  });

  it('keeps fields a newer version wrote when relabelling', async () => {
    const home = freshHome();
    const store = new PhotoCollection(home);
    const { added } = await store.add([{ name: 'a.png', bytes: await photo(11) }], 2);
    const entryPath = join(home, 'photos', 'entries', `${added[0]!.sha256}.json`);
    await writeFile(entryPath, JSON.stringify({ ...JSON.parse(await readFile(entryPath, 'utf8')), crop: { x: 1 } }));
    await store.relabel(added[0]!.id, 6);
    expect(JSON.parse(await readFile(entryPath, 'utf8'))).toMatchObject({ label: 6, crop: { x: 1 } });
  });

  it('read says so when the kept bytes changed after they were added', async () => {
    const store = new PhotoCollection(freshHome());
    const { added } = await store.add([{ name: 'a.png', bytes: await photo(12) }], 2);
    await writeFile(added[0]!.file, await photo(13));
    await expect(store.read(added[0]!.id)).rejects.toMatchObject({ kind: 'photo-corrupt', message: expect.stringContaining(`remove photo ${added[0]!.id}`) });
  });
});

describe('PhotoCollection: folders', () => {
  it('adds the photos in a folder and its direct subfolders, skipping hidden files and non-photos', async () => {
    const folder = freshHome();
    await writePhoto(folder, 'a.png', await photo(20));
    await writePhoto(folder, 'b.jpeg', await photo(21, 'jpeg'));
    await writePhoto(folder, 'sub/c.webp', await photo(22, 'webp'));
    await writePhoto(folder, '.hidden.png', await photo(23));
    await writePhoto(folder, 'notes.txt', 'not a photo');
    const store = new PhotoCollection(freshHome());

    const result = await store.add([folder], 6);

    expect(result.problems).toEqual([]);
    expect(result.added.map((entry) => [entry.source.name, entry.format])).toEqual([
      ['a.png', 'png'],
      ['b.jpeg', 'jpeg'],
      ['c.webp', 'webp'],
    ]);
    expect(result.added.every((entry) => entry.label === 6 && entry.source.kind === 'file')).toBe(true);
    expect((await store.list()).counts[6]).toBe(3);
  });

  it('reports a folder without photos and a missing path, and still adds the rest', async () => {
    const empty = freshHome();
    const missing = join(empty, 'gone.png');
    const good = await writePhoto(freshHome(), 'good.png', await photo(24));
    const store = new PhotoCollection(freshHome());

    const result = await store.add([empty, missing, good], 1);

    expect(result.added.map((entry) => entry.source.name)).toEqual(['good.png']);
    expect(result.problems.map((p) => [p.name, p.error.kind])).toEqual([
      [empty, 'folder-empty'],
      [missing, 'photo-unreadable'],
    ]);
  });
});

describe('PhotoCollection: damage is reported, never fatal', () => {
  it('a photo that cannot be decoded is reported with its name and why, and the others are added', async () => {
    const folder = freshHome();
    const jpeg = await photo(30, 'jpeg');
    const cut = await writePhoto(folder, 'cut.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    const text = await writePhoto(folder, 'letter.png', 'Dear shop, this is not a photo.');
    const good = await writePhoto(folder, 'good.png', await photo(31));
    const home = freshHome();
    const store = new PhotoCollection(home);

    const result = await store.add([cut, text, good, { name: 'empty.png', bytes: new Uint8Array() }], 2);

    expect(result.added.map((entry) => entry.source.name)).toEqual(['good.png']);
    expect(result.problems.map((p) => [p.name, p.error.kind])).toEqual([
      [cut, 'photo-corrupt'],
      [text, 'photo-unsupported'],
      ['empty.png', 'photo-empty'],
    ]);
    for (const problem of result.problems) expect(problem.error.message).toContain(problem.name);
    // Nothing of the refused photos was kept, not even bytes.
    expect(await readdir(join(home, 'photos', 'files'))).toEqual([`${result.added[0]!.sha256}.png`]);
  });

  it('garbage JSON, a missing bytes file and a label out of range are each reported and skipped; the rest list', async () => {
    const home = freshHome();
    const store = new PhotoCollection(home);
    const bytes = await Promise.all([40, 41, 42, 43].map((seed) => photo(seed)));
    const { added } = await store.add(
      bytes.map((b, i) => ({ name: `p${i}.png`, bytes: b })),
      4,
    );
    const [garbled, bytesGone, badLabel, fine] = added;
    const entryPath = (entry: { sha256: string }): string => join(home, 'photos', 'entries', `${entry.sha256}.json`);
    await writeFile(entryPath(garbled!), '{"version": 1, "sha256": "tru');
    await rm(bytesGone!.file);
    await writeFile(entryPath(badLabel!), JSON.stringify({ ...JSON.parse(await readFile(entryPath(badLabel!), 'utf8')), label: 12 }));
    // Crash leftovers and foreign files in the entries folder are not entries.
    await writeFile(`${entryPath(fine!)}.tmp-123-abcd`, '{');
    await writeFile(join(home, 'photos', 'entries', '.DS_Store'), 'junk');

    const listing = await store.list();

    expect(listing.entries.map((entry) => entry.id)).toEqual([fine!.id]);
    expect(listing.counts[4]).toBe(1);
    const problems = new Map(listing.problems.map((p) => [p.name, p.error]));
    expect(problems.size).toBe(3);
    expect(problems.get(entryPath(garbled!))).toMatchObject({ kind: 'photo-corrupt', message: expect.stringContaining('not valid JSON') });
    expect(problems.get(entryPath(bytesGone!))).toMatchObject({ kind: 'photo-corrupt', message: expect.stringContaining(`${bytesGone!.file} is missing`) });
    expect(problems.get(entryPath(badLabel!))).toMatchObject({ kind: 'photo-corrupt', message: expect.stringContaining('label 12 is not one of the ten classes') });
    for (const [path, error] of problems) {
      expect(error.message.startsWith(path)).toBe(true);
      expect(error.message).not.toContain('`');
    }
    // Each problem names an id that removes or reaches the damaged entry, in its message and as a field.
    expect(problems.get(entryPath(garbled!))!.message).toContain(`remove photo ${garbled!.id}`);
    expect(new Map(listing.problems.map((p) => [p.name, p.id]))).toEqual(new Map([garbled!, bytesGone!, badLabel!].map((entry) => [entryPath(entry), entry.id])));
    await expect(store.read(badLabel!.id)).rejects.toMatchObject({ kind: 'photo-corrupt' });
  });

  it('damaged entries can be removed by id, and adding the photo again repairs them', async () => {
    const home = freshHome();
    const store = new PhotoCollection(home);
    const bytes = await Promise.all([50, 51, 52].map((seed) => photo(seed)));
    const { added } = await store.add(
      bytes.map((b, i) => ({ name: `p${i}.png`, bytes: b })),
      5,
    );
    const [garbled, bytesGone, removable] = added;
    await writeFile(join(home, 'photos', 'entries', `${garbled!.sha256}.json`), 'not json');
    await writeFile(join(home, 'photos', 'entries', `${removable!.sha256}.json`), 'not json either');
    await rm(bytesGone!.file);

    expect((await store.remove([removable!.id])).removed).toEqual([removable!.id]);
    const again = await store.add([{ name: 'p0.png', bytes: bytes[0]! }, { name: 'p1.png', bytes: bytes[1]! }], 8);

    // The unreadable entry is replaced with the label given now; the intact one keeps its label and gets its bytes back.
    expect(again.added.map((entry) => [entry.id, entry.label])).toEqual([[garbled!.id, 8]]);
    expect(again.existing.map((entry) => [entry.id, entry.label])).toEqual([[bytesGone!.id, 5]]);
    const listing = await store.list();
    expect(listing.problems).toEqual([]);
    expect(listing.entries.map((entry) => entry.id).sort()).toEqual([garbled!.id, bytesGone!.id].sort());
    expect(Buffer.from((await store.read(bytesGone!.id)).bytes)).toEqual(bytes[1]);
  });
});

describe('PhotoCollection: concurrent adds and crashes', () => {
  it('20 different photos added by 20 concurrent calls on two stores over one folder all land', async () => {
    const home = freshHome();
    const stores = [new PhotoCollection(home), new PhotoCollection(home)];
    const bytes = await Promise.all(Array.from({ length: 20 }, (_, i) => photo(100 + i)));

    const results = await Promise.all(bytes.map((b, i) => stores[i % 2]!.add([{ name: `p${i}.png`, bytes: b }], i % 10)));

    expect(results.flatMap((r) => r.problems)).toEqual([]);
    expect(results.every((r) => r.added.length === 1)).toBe(true);
    const listing = await new PhotoCollection(home).list();
    expect(listing.problems).toEqual([]);
    expect(listing.entries.map((entry) => entry.sha256).sort()).toEqual(bytes.map(sha256).sort());
    expect(listing.counts).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(await readdir(join(home, 'photos', 'files'))).toHaveLength(20);
  });

  it('the same photo added at once by several calls gives one entry, and every call reports its label', async () => {
    const home = freshHome();
    const stores = [new PhotoCollection(home), new PhotoCollection(home)];
    const bytes = await photo(200);

    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => stores[i % 2]!.add([{ name: `copy${i}.png`, bytes }], i)));

    expect(results.flatMap((r) => r.problems)).toEqual([]);
    const added = results.flatMap((r) => r.added);
    const existing = results.flatMap((r) => r.existing);
    expect(added).toHaveLength(1);
    expect(existing).toHaveLength(7);
    const listing = await stores[0]!.list();
    expect(listing.entries).toHaveLength(1);
    expect(listing.entries[0]!.label).toBe(added[0]!.label);
    for (const entry of existing) expect(entry.label).toBe(added[0]!.label);
    expect(await readdir(join(home, 'photos', 'entries'))).toEqual([`${sha256(bytes)}.json`]);
    expect(await readdir(join(home, 'photos', 'files'))).toEqual([`${sha256(bytes)}.png`]);
  });

  it('two processes adding at once lose nothing, and a photo both add gets one entry', async () => {
    const home = freshHome();
    const folder = freshHome();
    const bytes = await Promise.all(Array.from({ length: 20 }, (_, i) => photo(400 + i)));
    const paths = await Promise.all(bytes.map((b, i) => writePhoto(folder, `p${i}.png`, b)));
    const shared = await photo(499);
    const sharedPath = await writePhoto(folder, 'shared.png', shared);
    const probe = fileURLToPath(new URL('./concurrent-add-probe.ts', import.meta.url));
    const run = (label: number, photos: string[]): Promise<{ stdout: string }> =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', probe, home, String(label), ...photos], { encoding: 'utf8', timeout: 120_000 });

    const outputs = await Promise.all([run(1, [sharedPath, ...paths.slice(0, 10)]), run(2, [sharedPath, ...paths.slice(10)])]);

    const reports = outputs.flatMap(({ stdout }) => JSON.parse(stdout) as { added: string[]; existing: string[]; problems: unknown[] }[]);
    expect(reports.flatMap((r) => r.problems)).toEqual([]);
    expect(reports.flatMap((r) => r.added).filter((hash) => hash === sha256(shared))).toHaveLength(1);
    const listing = await new PhotoCollection(home).list();
    expect(listing.problems).toEqual([]);
    expect(listing.entries.map((entry) => entry.sha256).sort()).toEqual([...bytes, shared].map(sha256).sort());
    expect(listing.counts[1]! + listing.counts[2]!).toBe(21);
  });

  it('a crash between writing the bytes and the entry leaves no photo in the list, and a later add works', async () => {
    const home = freshHome();
    const bytes = await photo(300);
    const hash = sha256(bytes);
    // What the add would have left: the bytes in place, the entry only as a temporary file.
    await writePhoto(home, `photos/files/${hash}.png`, bytes);
    await writePhoto(home, `photos/entries/${hash}.json.tmp-999-0000`, '{"version": 1,');
    const store = new PhotoCollection(home);

    expect(await store.list()).toEqual({ entries: [], counts: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], problems: [] });
    await expect(store.resolveIds([hash])).resolves.toMatchObject({ entries: [], problems: [{ error: { kind: 'not-found' } }] });

    const result = await store.add([{ name: 'again.png', bytes }], 3);

    expect(result.added).toMatchObject([{ sha256: hash, label: 3 }]);
    expect((await store.list()).entries.map((entry) => entry.sha256)).toEqual([hash]);
    expect(Buffer.from((await store.read(hash)).bytes)).toEqual(bytes);
  });

  it('leftovers an hour old are swept by the next add; younger ones may be an add in progress and stay', async () => {
    const home = freshHome();
    const old = await photo(310);
    const young = await photo(311);
    const oldFile = await writePhoto(home, `photos/files/${sha256(old)}.png`, old);
    await writePhoto(home, `photos/files/${sha256(young)}.png`, young);
    const oldTemp = await writePhoto(home, 'photos/entries/abc.json.tmp-1-2', '{');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(oldFile, twoHoursAgo, twoHoursAgo);
    await utimes(oldTemp, twoHoursAgo, twoHoursAgo);
    const store = new PhotoCollection(home);

    const { added } = await store.add([{ name: 'new.png', bytes: await photo(312) }], 0);

    expect((await readdir(join(home, 'photos', 'files'))).sort()).toEqual([`${added[0]!.sha256}.png`, `${sha256(young)}.png`].sort());
    expect(await readdir(join(home, 'photos', 'entries'))).toEqual([`${added[0]!.sha256}.json`]);
  });
});
