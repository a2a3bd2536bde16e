import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunStore } from './store';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

function freshHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'atelier-runs-'));
  homes.push(home);
  return home;
}

/** Make run.json say another process is training it, as the CLI's store writes it. */
function trainedBy(store: RunStore, id: string, pid: number): void {
  const file = join(store.dir(id), 'run.json');
  const record = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...record, trainer: { ...record.trainer, pid } }));
}

describe('RunStore: runs trained by another process', () => {
  it('shows a run as running while the process training it lives, and as interrupted after', async () => {
    const home = freshHome();
    const trainer = new RunStore(home);
    const run = await trainer.create({ config: null, preset: 'tutorial-mlp', backend: 'wasm', origin: 'trained', epochsPlanned: 1 });
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      trainedBy(trainer, run.id, child.pid!);
      const watcher = new RunStore(home);
      expect((await watcher.read(run.id)).status).toBe('running');
      await expect(watcher.delete(run.id)).rejects.toMatchObject({ kind: 'busy', message: expect.stringContaining(`pid ${child.pid}`) });
      const [summary] = await watcher.list();
      expect(summary).toMatchObject({ id: run.id, status: 'running' });
      expect(summary).not.toHaveProperty('trainer');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    }
    const after = await new RunStore(home).read(run.id);
    expect(after.status).toBe('failed');
    expect(after.error).toMatch(/Interrupted/);
    expect(await new RunStore(home).delete(run.id)).toBe(true);
  });

  it('the training process itself sees its run as running, and a record without a trainer stays interrupted', async () => {
    const home = freshHome();
    const store = new RunStore(home);
    const run = await store.create({ config: null, preset: 'tutorial-mlp', backend: 'wasm', origin: 'trained', epochsPlanned: 1 });
    expect((await store.read(run.id)).status).toBe('running');
    const file = join(store.dir(run.id), 'run.json');
    const { trainer: _trainer, ...legacy } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify(legacy));
    expect((await new RunStore(home).read(run.id)).status).toBe('failed');
  });
});

describe('RunStore: names people can tell apart', () => {
  const trained = { config: null, backend: 'wasm', origin: 'trained', epochsPlanned: 1 } as const;

  it('numbers runs in their data folder and names them after the model, even two in the same second', async () => {
    const home = freshHome();
    const store = new RunStore(home);
    const first = await store.create({ ...trained, preset: 'tutorial-mlp' });
    const second = await store.create({ ...trained, preset: 'tutorial-mlp' });
    const third = await store.create({ ...trained, preset: 'cnn' });
    expect([first.name, second.name, third.name]).toEqual(['Tutorial MLP #1', 'Tutorial MLP #2', 'Small CNN #3']);
    const byId = new Map((await store.list()).map((run) => [run.id, run]));
    expect(byId.get(second.id)).toMatchObject({ name: 'Tutorial MLP #2', number: 2 });
    // Deleting the newest run does not hand its number to the next one.
    await store.update(third.id, { status: 'completed' });
    await store.delete(third.id);
    expect((await store.create({ ...trained, preset: 'no-such-preset' })).name).toBe('no-such-preset #4');
    // Another process on the same folder (the CLI) counts on from there.
    expect((await new RunStore(home).create({ ...trained, preset: 'cnn' })).name).toBe('Small CNN #5');
  });

  it('an import keeps the name it was given, once, without an epoch count it never had', async () => {
    const store = new RunStore(freshHome());
    await store.create({ ...trained, preset: 'cnn' });
    const imported = await store.create({ config: null, preset: 'imported', backend: null, origin: 'imported', name: 'fashion-export', epochsPlanned: 0 });
    expect(await store.summary(imported.id)).toMatchObject({ name: 'fashion-export', number: 2, origin: 'imported', status: 'completed' });
  });

  it('derives numbers and names for run.json files written before runs were numbered', async () => {
    const home = freshHome();
    const store = new RunStore(home);
    const legacy = async (preset: string, origin: 'trained' | 'imported', name: string, createdAt: string): Promise<string> => {
      const run = await store.create({ config: null, preset, backend: 'wasm', origin, epochsPlanned: 1 });
      const file = join(store.dir(run.id), 'run.json');
      const { number: _number, trainer: _trainer, ...record } = JSON.parse(readFileSync(file, 'utf8'));
      writeFileSync(file, JSON.stringify({ ...record, name, createdAt, status: 'completed' }));
      return run.id;
    };
    // Created out of order on purpose: numbers follow the recorded times, not the folder names.
    const later = await legacy('tutorial-mlp', 'trained', 'tutorial-mlp · 2026-01-02 10:00', '2026-01-02T10:00:30.000Z');
    const earlier = await legacy('tutorial-mlp', 'trained', 'tutorial-mlp · 2026-01-02 10:00', '2026-01-02T10:00:10.000Z');
    const imported = await legacy('cnn', 'imported', 'Small CNN #7 (imported)', '2026-01-03T08:00:00.000Z');

    const reader = new RunStore(home);
    const names = new Map((await reader.list()).map((run) => [run.id, `${run.number} ${run.name}`]));
    expect(names.get(earlier)).toBe('1 Tutorial MLP #1');
    expect(names.get(later)).toBe('2 Tutorial MLP #2');
    expect(names.get(imported)).toBe('3 Small CNN #7');
    expect((await reader.summary(later)).name).toBe('Tutorial MLP #2');
    // A new run counts on from the old ones.
    expect((await reader.create({ config: null, preset: 'cnn', backend: 'wasm', origin: 'trained', epochsPlanned: 1 })).name).toBe('Small CNN #4');
  });
});

describe('RunStore: taught runs and the photos a run trained on', () => {
  const config = { preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 128, validationSplit: 0, seed: 1, trainLimit: null } as const;
  const photos = [{ id: 'a1b2c3d4e5f6', sha256: 'a1b2c3d4e5f6'.padEnd(64, '0'), label: 7 }];

  it('keeps the parent and the photos in run.json: the summary says the parent and how many photos, the detail lists them', async () => {
    const home = freshHome();
    const store = new RunStore(home);
    const parent = await store.create({ config, preset: 'tutorial-mlp', backend: 'wasm', origin: 'trained', epochsPlanned: 1 });
    const twoPhotos = [...photos, { id: 'ffeeddccbbaa', sha256: 'ffeeddccbbaa'.padEnd(64, '1'), label: 0 }];
    const child = await store.create({ config: { ...config, myPhotos: { share: 0.2 } }, preset: 'tutorial-mlp', backend: 'wasm', origin: 'trained', epochsPlanned: 1, parentRunId: parent.id, photos: twoPhotos });
    const reader = new RunStore(home);
    expect(await reader.detail(child.id)).toMatchObject({ parentRunId: parent.id, photoCount: 2, photos: twoPhotos, config: { myPhotos: { share: 0.2 } } });
    const summary = await reader.summary(child.id);
    expect(summary).toMatchObject({ parentRunId: parent.id, photoCount: 2 });
    expect(summary).not.toHaveProperty('photos');
    // The count is derived on reading, never written into run.json.
    expect(JSON.parse(readFileSync(join(store.dir(child.id), 'run.json'), 'utf8'))).not.toHaveProperty('photoCount');
    const listed = await reader.list();
    expect(listed.map((run) => [run.id, run.parentRunId, run.photoCount])).toEqual([
      [child.id, parent.id, 2],
      [parent.id, null, 0],
    ]);
  });

  it('reads run.json files from before My photos: no parent, no photos, a config without myPhotos', async () => {
    const store = new RunStore(freshHome());
    const run = await store.create({ config, preset: 'tutorial-mlp', backend: 'wasm', origin: 'trained', epochsPlanned: 1 });
    const file = join(store.dir(run.id), 'run.json');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    expect(record).not.toHaveProperty('parentRunId');
    expect(record).not.toHaveProperty('photos');
    expect(record.config).not.toHaveProperty('myPhotos');
    expect(await store.detail(run.id)).toMatchObject({ parentRunId: null, photoCount: 0, photos: [], config });
    expect(await store.summary(run.id)).toMatchObject({ parentRunId: null, photoCount: 0 });
  });

  it('lists a damaged run folder with no parent and no photos', async () => {
    const store = new RunStore(freshHome());
    const run = await store.create({ config, preset: 'tutorial-mlp', backend: 'wasm', origin: 'trained', epochsPlanned: 1 });
    writeFileSync(join(store.dir(run.id), 'run.json'), '{"id": ');
    expect(await store.list()).toMatchObject([{ id: run.id, status: 'failed', parentRunId: null, photoCount: 0 }]);
  });
});
