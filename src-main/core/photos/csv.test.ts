import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PhotoResult } from '../../contract';
import { CLASS_NAMES } from '../fashion-mnist';
import { csvField, formatCsv, photoCsvHeader, photoResultsCsv, spreadsheetSafe } from './csv';
import { readCsv } from './csv-test-reader';

function ok(name: string, path: string | null, probabilities: number[], notSure = false): PhotoResult {
  const classIndex = probabilities.indexOf(Math.max(...probabilities));
  return {
    ok: true,
    name,
    path,
    classIndex,
    className: CLASS_NAMES[classIndex]!,
    confidence: probabilities[classIndex]!,
    probabilities,
    notSure,
    foundGarment: true,
    notes: [],
    steps: null,
    runId: 'run-1',
  };
}

const anyText = fc.string({ unit: fc.constantFrom('a', 'é', '😀', ',', '"', '\r', '\n', ' ', '=', '+', '-', '@', '\t', "'") });

describe('CSV writer (RFC 4180)', () => {
  it('quotes fields with commas, quotes, CR or LF, doubling the quotes, and leaves others bare', () => {
    expect(csvField('plain.jpg')).toBe('plain.jpg');
    expect(csvField('a,b.jpg')).toBe('"a,b.jpg"');
    expect(csvField('say "cheese".jpg')).toBe('"say ""cheese"".jpg"');
    expect(csvField('two\nlines.jpg')).toBe('"two\nlines.jpg"');
    expect(csvField('cr\r.jpg')).toBe('"cr\r.jpg"');
    expect(formatCsv([['a', 'b,c'], ['', '"']])).toBe('a,"b,c"\r\n,""""\r\n');
  });

  it('reads back as the same fields, whatever the text (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string({ unit: 'grapheme' }).chain((plain) => fc.constantFrom(plain, `${plain},"\r\n${plain}`)), { minLength: 1, maxLength: 6 }), { maxLength: 8 }), (records) => {
        expect(readCsv(formatCsv(records))).toEqual(records);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(anyText, { minLength: 1, maxLength: 5 }), { maxLength: 6 }), (records) => {
        expect(readCsv(formatCsv(records))).toEqual(records);
      }),
    );
  });
});

describe('Classify results as CSV', () => {
  const probabilities = [0.01, 0.9, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.01, 0.01];

  it('has a header, one row per result in order, an error row with its kind and message, six decimals and true/false', () => {
    const results: PhotoResult[] = [
      ok('pants.jpg', '/home/me/photos/pants.jpg', probabilities),
      { ok: false, name: 'half.jpg', path: null, error: { kind: 'photo-corrupt', message: 'half.jpg: the file is damaged or cut short — download it again.' } },
      ok('dropped.png', null, probabilities, true),
    ];
    const rows = readCsv(photoResultsCsv(results));
    expect(rows[0]).toEqual(['file', 'class', 'confidence', 'not sure', ...CLASS_NAMES, 'error']);
    expect(rows).toHaveLength(4);
    expect(rows[1]).toEqual(['/home/me/photos/pants.jpg', 'Trouser', '0.900000', 'false', ...probabilities.map((p) => p.toFixed(6)), '']);
    expect(rows[2]).toEqual(['half.jpg', '', '', '', ...CLASS_NAMES.map(() => ''), 'photo-corrupt: half.jpg: the file is damaged or cut short — download it again.']);
    expect(rows[3]!.slice(0, 4)).toEqual(['dropped.png', 'Trouser', '0.900000', 'true']);
    for (const row of rows) expect(row).toHaveLength(photoCsvHeader().length);
  });

  it('writes any file name back as itself, or with an apostrophe when a spreadsheet would take it for a formula (property)', () => {
    fc.assert(
      fc.property(anyText, fc.boolean(), (name, fromDisk) => {
        const rows = readCsv(photoResultsCsv([ok(name, fromDisk ? `/photos/${name}` : null, probabilities)]));
        const shown = fromDisk ? `/photos/${name}` : name;
        expect(rows).toHaveLength(2);
        expect(rows[1]![0]).toBe(/^[=+\-@\t\r]/.test(shown) ? `'${shown}` : shown);
      }),
    );
  });

  it('guards =, +, -, @ at the start of a name against formula injection, and nothing else', () => {
    for (const name of ['=HYPERLINK("http://x","y").jpg', '+1.jpg', '-2.jpg', '@SUM(A1).jpg']) {
      expect(spreadsheetSafe(name)).toBe(`'${name}`);
    }
    expect(spreadsheetSafe('a=b.jpg')).toBe('a=b.jpg');
    const [, row] = readCsv(photoResultsCsv([ok('=1+1.jpg', null, probabilities)]));
    expect(row![0]).toBe("'=1+1.jpg");
  });
});
