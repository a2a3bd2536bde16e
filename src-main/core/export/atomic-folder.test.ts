import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFolderAtomically, type AtomicFolderOptions, type FolderFs } from './atomic-folder';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'atelier-atomic-'));
});
afterEach(() => {
  chmodSync(root, 0o700);
  rmSync(root, { recursive: true, force: true });
});

/** This test's export writes these two files; anything else in a target is someone else's. */
const OWN = new Set(['atelier-model.json', 'weights.bin']);
const foreignEntries = async (_dir: string, entries: string[]) => entries.filter((entry) => !OWN.has(entry)).sort();
const writeExport = (content: string) => async (dir: string) => {
  await writeFile(join(dir, 'atelier-model.json'), content);
  await writeFile(join(dir, 'weights.bin'), content.repeat(100));
};
const failAfterWeights = async (dir: string) => {
  await writeFile(join(dir, 'weights.bin'), 'partial');
  throw new Error('disk unplugged');
};
const options = (extra: Partial<AtomicFolderOptions> = {}): AtomicFolderOptions => ({ force: false, foreignEntries, build: writeExport('one'), ...extra });

/** A system error as node:fs raises it. */
const systemError = (code: string, call: string, path: string) => Object.assign(new Error(`${code}: simulated, ${call} '${path}'`), { code, syscall: call, path });

/** node:fs/promises with one call failing, as a read-only or full disk would make it fail. */
function failing(call: 'mkdir' | 'rename', code: string): FolderFs {
  return {
    ...nodeFs,
    [call]: async (path: string) => {
      throw systemError(code, call, path);
    },
  } as FolderFs;
}

/** Name → content of every file under `dir`, to prove a refusal changed nothing. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out[join(entry.parentPath, entry.name).slice(dir.length)] = readFileSync(join(entry.parentPath, entry.name), 'latin1');
  }
  return out;
}

describe('writeFolderAtomically', () => {
  it('creates the folder with everything the build wrote', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, options());
    expect(readdirSync(target).sort()).toEqual(['atelier-model.json', 'weights.bin']);
    expect(readdirSync(root)).toEqual(['export']);
  });

  it('refuses a missing parent, naming it, and creates nothing (a typo or an unmounted drive must not grow a new tree)', async () => {
    const target = join(root, 'usb-stick', 'models', 'export');
    let built = false;
    await expect(writeFolderAtomically(target, options({ build: async () => void (built = true) }))).rejects.toMatchObject({
      kind: 'not-found',
      message: `Cannot export to ${target}: the folder ${join(root, 'usb-stick', 'models')} does not exist. Nothing was saved. Create ${join(root, 'usb-stick', 'models')} first, or choose a folder that exists.`,
    });
    expect(built).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses an existing target without force, before building anything', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, options());
    let built = false;
    await expect(writeFolderAtomically(target, options({ build: async () => void (built = true) }))).rejects.toMatchObject({
      kind: 'target-exists',
      message: expect.stringMatching(/already exists.*--force/),
    });
    expect(built).toBe(false);
    expect(readFileSync(join(target, 'atelier-model.json'), 'utf8')).toBe('one');
  });

  it('replaces an earlier export with force, leaving no sibling behind', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, options());
    await writeFolderAtomically(target, options({ force: true, build: writeExport('two') }));
    expect(readFileSync(join(target, 'atelier-model.json'), 'utf8')).toBe('two');
    expect(readdirSync(root)).toEqual(['export']);
  });

  it('never replaces a folder holding anything the export did not write, even with force, and names a few and the count', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, options());
    for (const name of ['important.txt', 'notes.md', 'photo.png', 'thesis.tex']) writeFileSync(join(target, name), `precious ${name}`);
    mkdirSync(join(target, 'sub'));
    writeFileSync(join(target, 'sub', 'deep.txt'), 'also precious');
    const before = contents(target);
    let built = false;
    await expect(writeFolderAtomically(target, options({ force: true, build: async () => void (built = true) }))).rejects.toMatchObject({
      kind: 'target-exists',
      message: `${target} holds 5 entries that Atelier's export did not write (important.txt, notes.md, photo.png and 2 more), so it is not replaced: Atelier replaces only a folder that holds nothing but its own earlier export. Nothing was changed. Move those files elsewhere, or choose another folder.`,
    });
    expect(built).toBe(false);
    expect(contents(target)).toEqual(before);
    expect(readdirSync(root)).toEqual(['export']);
  });

  it('refuses a file at the target, even with force', async () => {
    const file = join(root, 'notes.txt');
    writeFileSync(file, 'keep');
    await expect(writeFolderAtomically(file, options({ force: true }))).rejects.toMatchObject({ kind: 'target-exists', message: expect.stringContaining('is a file, not a folder') });
    expect(readFileSync(file, 'utf8')).toBe('keep');
    expect(readdirSync(root)).toEqual(['notes.txt']);
  });

  it('refuses when a foreign file appears in the target while the export is being built, and keeps it', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, options());
    const build = async (dir: string) => {
      await writeExport('two')(dir);
      writeFileSync(join(target, 'important.txt'), 'saved just now');
    };
    await expect(writeFolderAtomically(target, options({ force: true, build }))).rejects.toMatchObject({ kind: 'target-exists', message: expect.stringContaining('(important.txt)') });
    expect(contents(target)).toEqual({ '/atelier-model.json': 'one', '/important.txt': 'saved just now', '/weights.bin': 'one'.repeat(100) });
    expect(readdirSync(root)).toEqual(['export']);
  });

  it('fills an existing empty folder only with force', async () => {
    const target = join(root, 'empty');
    mkdirSync(target);
    await expect(writeFolderAtomically(target, options())).rejects.toMatchObject({ kind: 'target-exists' });
    await writeFolderAtomically(target, options({ force: true }));
    expect(readdirSync(target).sort()).toEqual(['atelier-model.json', 'weights.bin']);
  });

  it('a failed build leaves the previous export intact and nothing else', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, options());
    await expect(writeFolderAtomically(target, options({ force: true, build: failAfterWeights }))).rejects.toThrow('disk unplugged');
    expect(readdirSync(root)).toEqual(['export']);
    expect(contents(target)).toEqual({ '/atelier-model.json': 'one', '/weights.bin': 'one'.repeat(100) });
  });

  it('a failed first export leaves no folder', async () => {
    await expect(writeFolderAtomically(join(root, 'export'), options({ build: failAfterWeights }))).rejects.toThrow('disk unplugged');
    expect(readdirSync(root)).toEqual([]);
  });

  it('cleans up what a killed export left beside the target', async () => {
    mkdirSync(join(root, '.export.atelier-partial-deadbeef'));
    writeFileSync(join(root, '.export.atelier-partial-deadbeef', 'weights.bin'), 'half');
    await writeFolderAtomically(join(root, 'export'), options());
    expect(readdirSync(root)).toEqual(['export']);
    expect(existsSync(join(root, 'export', 'weights.bin'))).toBe(true);
  });
});

describe('writeFolderAtomically: file-system failures name the folder and say what to do', () => {
  // Root ignores permissions (the tests run as root here), so the errno is injected instead.
  it.each([
    ['EACCES', 'export-failed', /you may not write into (\S+) \(permission denied\)\. Nothing was saved and nothing was left behind\. Choose a folder you can write to, or change the permissions of \1\.$/],
    ['EPERM', 'export-failed', /you may not write into .* \(permission denied\)/],
    ['EROFS', 'export-failed', /is on a read-only disk\. Nothing was saved and nothing was left behind\. Choose a folder on a writable disk\.$/],
    ['ENOSPC', 'disk-full', /the disk holding .* is full\. Nothing was saved and nothing was left behind\. Free some space there, or choose a folder on another disk, and export again\.$/],
  ])('%s while creating the folder: %s', async (code, kind, message) => {
    const target = join(root, 'export');
    await expect(writeFolderAtomically(target, options({ fs: failing('mkdir', code) }))).rejects.toMatchObject({ kind, message: expect.stringMatching(message) });
    const error = await writeFolderAtomically(target, options({ fs: failing('mkdir', code) })).then(() => new Error('expected a refusal'), (caught: Error) => caught);
    expect(error.message.startsWith(`Cannot export to ${target}: `)).toBe(true);
    expect(error.message).toContain(root);
    expect(readdirSync(root)).toEqual([]);
  });

  it('ENOSPC while writing the files: disk-full, no partial folder', async () => {
    const target = join(root, 'export');
    const build = async (dir: string) => {
      await writeFile(join(dir, 'weights.bin'), 'half of the weights');
      throw systemError('ENOSPC', 'write', join(dir, 'weights.bin'));
    };
    await expect(writeFolderAtomically(target, options({ build }))).rejects.toMatchObject({ kind: 'disk-full', message: expect.stringContaining(`Cannot export to ${target}: the disk holding ${root} is full.`) });
    expect(readdirSync(root)).toEqual([]);
  });

  it('the parent removed while exporting (ENOENT on the final rename): not-found, naming it', async () => {
    const target = join(root, 'export');
    await expect(writeFolderAtomically(target, options({ fs: failing('rename', 'ENOENT') }))).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining(`the folder ${root} does not exist (or was removed while exporting)`),
    });
    expect(readdirSync(root)).toEqual([]);
  });

  it('a folder created at the target by someone else at the last moment (EEXIST): target-exists, nothing left behind', async () => {
    const target = join(root, 'export');
    await expect(writeFolderAtomically(target, options({ fs: failing('rename', 'EEXIST') }))).rejects.toMatchObject({
      kind: 'target-exists',
      message: expect.stringContaining('something else created it while the export was being written'),
    });
    expect(readdirSync(root)).toEqual([]);
  });

  it('a failed swap puts the earlier export back', async () => {
    const target = join(root, 'export');
    await writeFolderAtomically(target, options());
    let renames = 0;
    const fs = {
      ...nodeFs,
      rename: async (from: string, to: string) => {
        renames += 1;
        // The second rename moves the new folder into place: fail it as a full disk would.
        if (renames === 2) throw systemError('ENOSPC', 'rename', from);
        await nodeFs.rename(from, to);
      },
    } as FolderFs;
    await expect(writeFolderAtomically(target, options({ force: true, build: writeExport('two'), fs }))).rejects.toMatchObject({ kind: 'disk-full' });
    expect(contents(target)).toEqual({ '/atelier-model.json': 'one', '/weights.bin': 'one'.repeat(100) });
    expect(readdirSync(root)).toEqual(['export']);
  });

  const isRoot = process.getuid?.() === 0;
  it.skipIf(isRoot)('a real read-only parent (chmod 555) gives the permission message [skipped as root: root writes anyway; the injected EACCES above covers it]', async () => {
    chmodSync(root, 0o555);
    const target = join(root, 'export');
    await expect(writeFolderAtomically(target, options())).rejects.toMatchObject({ kind: 'export-failed', message: expect.stringContaining(`you may not write into ${root} (permission denied)`) });
    chmodSync(root, 0o700);
    expect(readdirSync(root)).toEqual([]);
  });
});
