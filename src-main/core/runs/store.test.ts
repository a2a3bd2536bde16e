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
