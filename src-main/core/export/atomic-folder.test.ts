import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFolderAtomically } from './atomic-folder';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'atelier-atomic-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const isExport = (entries: string[]) => entries.includes('atelier-model.json');
const writeExport = (content: string) => async (dir: string) => {
  await writeFile(join(dir, 'atelier-model.json'), content);
  await writeFile(join(dir, 'weights.bin'), content.repeat(100));
};
const failAfterWeights = async (dir: string) => {
  await writeFile(join(dir, 'weights.bin'), 'partial');
  throw new Error('disk unplugged');
};

describe('writeFolderAtomically', () => {
  it('creates the folder (and missing parents) with everything the build wrote', async () => {
    const target = join(root, 'a', 'b', 'export');
    await writeFolderAtomically(target, { force: false, isReplaceable: isExport, build: writeExport('one') });
    expect(readdirSync(target).sort()).toEqual(['atelier-model.json', 'weights.bin']);
    expect(readdirSync(join(root, 'a', 'b'))).toEqual(['export']);
  });

  it('refuses an existing target without force, before building anything', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, { force: false, isReplaceable: isExport, build: writeExport('one') });
    let built = false;
    await expect(
      writeFolderAtomically(target, { force: false, isReplaceable: isExport, build: async () => void (built = true) }),
    ).rejects.toMatchObject({ kind: 'target-exists', message: expect.stringMatching(/already exists.*--force/) });
    expect(built).toBe(false);
    expect(readFileSync(join(target, 'atelier-model.json'), 'utf8')).toBe('one');
  });

  it('replaces an earlier export with force, leaving no sibling behind', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, { force: false, isReplaceable: isExport, build: writeExport('one') });
    await writeFolderAtomically(target, { force: true, isReplaceable: isExport, build: writeExport('two') });
    expect(readFileSync(join(target, 'atelier-model.json'), 'utf8')).toBe('two');
    expect(readdirSync(root)).toEqual(['export']);
  });

  it('never replaces a folder of other files or a file, even with force', async () => {
    const home = join(root, 'documents');
    mkdirSync(home);
    writeFileSync(join(home, 'thesis.tex'), 'precious');
    await expect(writeFolderAtomically(home, { force: true, isReplaceable: isExport, build: writeExport('x') })).rejects.toMatchObject({
      kind: 'target-exists',
      message: expect.stringMatching(/holds other files \(thesis.tex\)/),
    });
    expect(readFileSync(join(home, 'thesis.tex'), 'utf8')).toBe('precious');
    const file = join(root, 'notes.txt');
    writeFileSync(file, 'keep');
    await expect(writeFolderAtomically(file, { force: true, isReplaceable: isExport, build: writeExport('x') })).rejects.toMatchObject({ kind: 'target-exists' });
    expect(readFileSync(file, 'utf8')).toBe('keep');
    expect(readdirSync(root).sort()).toEqual(['documents', 'notes.txt']);
  });

  it('fills an existing empty folder only with force', async () => {
    const target = join(root, 'empty');
    mkdirSync(target);
    await expect(writeFolderAtomically(target, { force: false, isReplaceable: isExport, build: writeExport('x') })).rejects.toMatchObject({ kind: 'target-exists' });
    await writeFolderAtomically(target, { force: true, isReplaceable: isExport, build: writeExport('x') });
    expect(readdirSync(target).sort()).toEqual(['atelier-model.json', 'weights.bin']);
  });

  it('a failed build leaves the previous export intact and nothing else', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, { force: false, isReplaceable: isExport, build: writeExport('one') });
    await expect(writeFolderAtomically(target, { force: true, isReplaceable: isExport, build: failAfterWeights })).rejects.toThrow('disk unplugged');
    expect(readdirSync(root)).toEqual(['export']);
    expect(readFileSync(join(target, 'atelier-model.json'), 'utf8')).toBe('one');
    expect(readFileSync(join(target, 'weights.bin'), 'utf8')).toBe('one'.repeat(100));
  });

  it('a failed first export leaves no folder, not even the parents it created', async () => {
    await expect(writeFolderAtomically(join(root, 'new', 'export'), { force: false, isReplaceable: isExport, build: failAfterWeights })).rejects.toThrow('disk unplugged');
    expect(readdirSync(root)).toEqual([]);
  });

  it('cleans up what a killed export left beside the target', async () => {
    mkdirSync(join(root, '.export.atelier-partial-deadbeef'));
    writeFileSync(join(root, '.export.atelier-partial-deadbeef', 'weights.bin'), 'half');
    await writeFolderAtomically(join(root, 'export'), { force: false, isReplaceable: isExport, build: writeExport('one') });
    expect(readdirSync(root)).toEqual(['export']);
    expect(existsSync(join(root, 'export', 'weights.bin'))).toBe(true);
  });
});
