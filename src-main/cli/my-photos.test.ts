import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MyPhotosAdded, MyPhotosListing } from '../contract';
import { runCli } from './commands';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function list(): Promise<MyPhotosListing> {
  const { code, out } = await run(['photos', 'list', '--json']);
  expect(code).toBe(0);
  return JSON.parse(out) as MyPhotosListing;
}

/** A small textured JPEG, different for every seed. */
async function writePhoto(path: string, seed: number): Promise<string> {
  const width = 36;
  const height = 28;
  const data = Buffer.alloc(width * height * 3);
  let state = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < data.length; i += 1) {
    state = (state * 1664525 + 1013904223) >>> 0;
    data[i] = state >>> 24;
  }
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, await sharp(data, { raw: { width, height, channels: 3 } }).jpeg().toBuffer());
  return path;
}

describe('atelier photos (My photos)', () => {
  let temp: string;
  const saved = process.env.ATELIER_HOME;

  beforeEach(() => {
    temp = mkdtempSync(join(tmpdir(), 'atelier-cli-my-photos-'));
    process.env.ATELIER_HOME = join(temp, 'home');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.ATELIER_HOME;
    else process.env.ATELIER_HOME = saved;
    rmSync(temp, { recursive: true, force: true });
  });

  it('without a subcommand exits 2 with the usage; --help lists the four commands; photos-eval is still its own command', async () => {
    const bare = await run(['photos']);
    expect(bare.code).toBe(2);
    expect(bare.out).toContain('atelier photos <add|list|relabel|remove>');
    const unknown = await run(['photos', 'frob']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('"frob"');
    const help = (await run(['--help'])).out;
    for (const line of [/^\s+photos add --label CLASS/m, /^\s+photos list/m, /^\s+photos relabel ID CLASS/m, /^\s+photos remove ID/m, /^\s+photos-eval DIR/m]) expect(help).toMatch(line);
  });

  it('an empty collection says how to fill it', async () => {
    const { code, out } = await run(['photos', 'list']);
    expect(code).toBe(0);
    expect(out).toContain('My photos is empty');
    expect(out).toContain('atelier photos add --label CLASS');
    expect(out).not.toContain('`');
  });

  it('add takes files and folders with a forgiving class name, list shows counts and ids, relabel and remove change them', async () => {
    const a = await writePhoto(join(temp, 'shoes', 'a.jpg'), 1);
    await writePhoto(join(temp, 'shoes', 'b.jpg'), 2);
    const single = await writePhoto(join(temp, 'pants.jpg'), 3);

    const added = await run(['photos', 'add', '--label', 'sneakers', join(temp, 'shoes')]);
    expect(added).toMatchObject({ code: 0, out: 'Added 2 photos to My photos as Sneaker.' });
    expect((await run(['photos', 'add', '--label', '1', single])).code).toBe(0);

    const listing = await list();
    expect(listing.counts).toEqual([0, 1, 0, 0, 0, 0, 0, 2, 0, 0]);
    // The CLI runs on the machine that holds the files: it sees where each came from.
    expect(listing.photos.map((photo) => photo.sourcePath).sort()).toEqual([a, join(temp, 'shoes', 'b.jpg'), single].sort());

    const text = (await run(['photos', 'list'])).out;
    expect(text).toMatch(/^\s+7 Sneaker\s+2$/m);
    expect(text).toMatch(/^\s+1 Trouser\s+1$/m);
    const trouser = listing.photos.find((photo) => photo.label === 1)!;
    expect(text).toContain(`${trouser.id}  Trouser`);

    expect(await run(['photos', 'relabel', trouser.id, 'ankle-boot'])).toMatchObject({ code: 0, out: `Photo ${trouser.id} (pants.jpg) is now Ankle boot.` });
    expect((await list()).counts[9]).toBe(1);

    const removed = await run(['photos', 'remove', trouser.id]);
    expect(removed).toMatchObject({ code: 0, out: `Removed 1 photo from My photos: ${trouser.id}.` });
    expect((await list()).photos).toHaveLength(2);
  });

  it('adding refuses an unknown class (exit 2, naming the ten) before touching anything', async () => {
    const path = await writePhoto(join(temp, 'x.jpg'), 4);
    const result = await run(['photos', 'add', '--label', 'scarf', path]);
    expect(result.code).toBe(2);
    expect(result.err).toContain('"scarf" is not one of the clothing classes');
    expect(result.err).toContain('7 Sneaker');
    expect((await run(['photos', 'add', path])).code).toBe(2);
    expect((await list()).photos).toEqual([]);
  });

  it('exit 1 when anything was refused, with the rest still added; a photo added twice keeps its first class', async () => {
    const good = await writePhoto(join(temp, 'good.jpg'), 5);
    const broken = join(temp, 'broken.jpg');
    writeFileSync(broken, 'not a photo');
    const missing = join(temp, 'nowhere.jpg');

    const result = await run(['photos', 'add', '--label', 'bag', good, broken, missing]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('Added 1 photo to My photos as Bag.');
    expect(result.out).toContain('Could not add 2 photos or paths:');
    expect(result.out).toContain(`✗ ${broken}`);
    expect(result.out).toContain(`✗ ${missing}`);
    expect((await list()).counts[8]).toBe(1);

    const again = await run(['photos', 'add', '--label', 'coat', '--json', good]);
    expect(again.code).toBe(0);
    const json = JSON.parse(again.out) as MyPhotosAdded;
    expect(json.added).toEqual([]);
    expect(json.existing.map((photo) => photo.className)).toEqual(['Bag']);
    expect((await run(['photos', 'add', '--label', 'coat', good])).out).toContain('Already in My photos');
  });

  it('remove reports an unknown id (exit 1) and still removes the others; relabel of an unknown id exits 1', async () => {
    await writePhoto(join(temp, 'p.jpg'), 6);
    await run(['photos', 'add', '--label', 'dress', join(temp, 'p.jpg')]);
    const [photo] = (await list()).photos;
    const result = await run(['photos', 'remove', photo!.id, '0123456789ab']);
    expect(result.code).toBe(1);
    expect(result.out).toContain(`Removed 1 photo from My photos: ${photo!.id}.`);
    expect(result.out).toContain('No photo with id 0123456789ab');
    const relabel = await run(['photos', 'relabel', '0123456789ab', 'dress']);
    expect(relabel.code).toBe(1);
    expect(relabel.err).toContain('No photo with id 0123456789ab');
    expect((await run(['photos', 'relabel', photo!.id])).code).toBe(2);
  });
});
