import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_LENGTH, shortIds } from './entry';

const hex = (text: string): string => text.padEnd(64, '0');

describe('shortIds', () => {
  it('gives 12 hex digits when no other hash shares them', () => {
    const ids = shortIds([hex('abcdef0123456789'), hex('1234')]);
    expect(ids.get(hex('abcdef0123456789'))).toBe('abcdef012345');
    expect(ids.get(hex('1234'))).toBe('123400000000');
  });

  it('lengthens only the ids of hashes that share their first 12 digits', () => {
    const a = hex('aaaaaaaaaaaaaa1');
    const b = hex('aaaaaaaaaaaaaa2');
    const c = hex('bbbb');
    const ids = shortIds([a, b, c]);
    expect(ids.get(a)).toBe('aaaaaaaaaaaaaa1');
    expect(ids.get(b)).toBe('aaaaaaaaaaaaaa2');
    expect(ids.get(c)).toBe('bbbb00000000');
  });

  it('ids are distinct prefixes of their hashes, at least 12 long, for any set of hashes', () => {
    // Few distinct digits make shared prefixes (and so lengthening) common.
    const hash = fc.string({ unit: fc.constantFrom('0', '1'), minLength: 64, maxLength: 64 });
    fc.assert(
      fc.property(fc.uniqueArray(hash, { maxLength: 30 }), (hashes) => {
        const ids = shortIds(hashes);
        const values = hashes.map((h) => ids.get(h)!);
        expect(new Set(values).size).toBe(hashes.length);
        hashes.forEach((h, i) => {
          expect(h.startsWith(values[i]!)).toBe(true);
          expect(values[i]!.length).toBeGreaterThanOrEqual(ID_LENGTH);
          // No id is a prefix of another hash: an id names one photo only.
          expect(hashes.filter((other) => other.startsWith(values[i]!))).toEqual([h]);
        });
      }),
    );
  });
});
