import { describe, expect, it } from 'vitest';
import { collectDropped, fileToBase64, isPhotoName, pastedName, planUploads, type NamedFile } from './photo-inputs';

const named = (name: string, size: number): NamedFile => ({ name, file: new File([new Uint8Array(size)], name) });

describe('planUploads', () => {
  it('keeps the order and cuts groups at the byte budget', () => {
    const files = [named('a.jpg', 40), named('b.jpg', 50), named('c.jpg', 20), named('d.jpg', 100)];
    const { groups, problems } = planUploads(files, 100);
    expect(groups.map((group) => group.map((file) => file.name))).toEqual([['a.jpg', 'b.jpg'], ['c.jpg'], ['d.jpg']]);
    expect(problems).toEqual([]);
    for (const group of groups) expect(group.reduce((sum, file) => sum + file.file.size, 0)).toBeLessThanOrEqual(100);
  });

  it('a file too big to send becomes a photo-too-large card saying where larger files work', () => {
    const { groups, problems } = planUploads([named('a.jpg', 10), named('huge.tif', 101)], 100);
    expect(groups.flat().map((file) => file.name)).toEqual(['a.jpg']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ ok: false, name: 'huge.tif', path: null, error: { kind: 'photo-too-large' } });
    expect(problems[0]!.error.message).toMatch(/desktop app|atelier classify/);
  });

  it('never sends more than 100 files in one call', () => {
    const { groups } = planUploads(Array.from({ length: 250 }, (_, i) => named(`${i}.jpg`, 1)), 1_000_000);
    expect(groups.map((group) => group.length)).toEqual([100, 100, 50]);
  });
});

describe('fileToBase64', () => {
  it('encodes any bytes, also past the 32 KiB chunk size', async () => {
    const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 7919) % 256);
    const encoded = await fileToBase64(new Blob([bytes]));
    expect(encoded).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(encoded.length).toBe(Math.ceil(bytes.length / 3) * 4);
    expect(Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0))).toEqual(bytes);
    expect(await fileToBase64(new Blob([]))).toBe('');
  });
});

describe('names', () => {
  it('pasted images get a time-stamped name with the right ending', () => {
    const at = new Date(2026, 0, 2, 9, 5, 7);
    expect(pastedName(new File([], 'image.png', { type: 'image/png' }), 0, at)).toBe('Pasted image 09.05.07.png');
    expect(pastedName(new File([], 'image.jpg', { type: 'image/jpeg' }), 1, at)).toBe('Pasted image 09.05.07 (2).jpg');
  });

  it('photo endings are recognised whatever their case', () => {
    expect(['a.JPG', 'b.jpeg', 'c.webp', 'd.TIFF', 'e.bmp', 'f.heic'].every(isPhotoName)).toBe(true);
    expect(['notes.txt', 'model.json', 'jpg'].some(isPhotoName)).toBe(false);
  });
});

/** A dropped folder as the File and Directory Entries API shows it, handing entries out two at a time. */
function folderEntry(name: string, children: object[]): object {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader() {
      let offset = 0;
      return {
        readEntries(success: (entries: object[]) => void) {
          const piece = children.slice(offset, offset + 2);
          offset += piece.length;
          setTimeout(() => success(piece), 0);
        },
      };
    },
  };
}

function fileEntry(name: string): object {
  return { isFile: true, isDirectory: false, name, file: (success: (file: File) => void) => success(new File([name], name)) };
}

function transferOf(entries: { entry: object | null; file: File | null }[]): DataTransfer {
  const items = entries.map(({ entry, file }) => ({ kind: 'file', webkitGetAsEntry: () => entry, getAsFile: () => file }));
  return { items, files: entries.map(({ file }) => file).filter(Boolean) } as unknown as DataTransfer;
}

describe('collectDropped', () => {
  it('walks dropped folders one level deep in name order, skipping hidden entries and non-photos', async () => {
    const folder = folderEntry('clothes', [
      fileEntry('b10.jpg'),
      fileEntry('b2.jpg'),
      fileEntry('.hidden.jpg'),
      fileEntry('notes.txt'),
      folderEntry('shoes', [fileEntry('s1.png'), folderEntry('deeper', [fileEntry('deep.jpg')])]),
    ]);
    const loose = new File(['x'], 'loose.dat');
    const { files, problems } = await collectDropped(transferOf([{ entry: folder, file: null }, { entry: fileEntry('loose.dat'), file: loose }]));
    expect(files.map((file) => file.name)).toEqual(['clothes/b2.jpg', 'clothes/b10.jpg', 'clothes/shoes/s1.png', 'loose.dat']);
    expect(problems).toEqual([]);
  });

  it('a dropped folder with no photos is a folder-empty card', async () => {
    const { files, problems } = await collectDropped(transferOf([{ entry: folderEntry('empty', [fileEntry('readme.txt')]), file: null }]));
    expect(files).toEqual([]);
    expect(problems).toMatchObject([{ ok: false, name: 'empty', error: { kind: 'folder-empty' } }]);
  });

  it('files without entries (a DataTransfer built by a script) are taken as they are', async () => {
    const a = new File(['a'], 'a.jpg');
    const { files } = await collectDropped({ items: [], files: [a] } as unknown as DataTransfer);
    expect(files).toEqual([{ name: 'a.jpg', file: a }]);
  });
});
