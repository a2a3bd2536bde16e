import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtelierError } from '../errors';
import { CLASS_NAMES } from '../fashion-mnist';
import { checkLabel, parseClassName } from './class-name';

/** The words of each class name, so separators between them can be varied. */
const WORDS = CLASS_NAMES.map((name) => name.split(/[^A-Za-z]+/).filter((word) => word !== ''));

const separator = fc.constantFrom('', ' ', '  ', '-', '_', '/', '.', ' / ', '\t');

/** A class name as someone might type it: each letter's case flipped at random, any separators, stray spaces around. */
const typedName = fc
  .integer({ min: 0, max: CLASS_NAMES.length - 1 })
  .chain((label) =>
    fc
      .tuple(
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        fc.array(separator, { minLength: WORDS[label]!.length, maxLength: WORDS[label]!.length }),
        fc.constantFrom('', ' ', '\n'),
        fc.constantFrom('', ' ', '.'),
      )
      .map(([upper, separators, before, after]) => {
        const words = WORDS[label]!;
        const joined = words.map((word, i) => (i === 0 ? word : `${separators[i]}${word}`)).join('');
        const cased = [...joined].map((char, i) => (upper[i % upper.length] ? char.toUpperCase() : char.toLowerCase())).join('');
        return { label, text: `${before}${cased}${after}` };
      }),
  );

describe('parseClassName', () => {
  it('reads the examples people type', () => {
    expect(parseClassName('t-shirt')).toBe(0);
    expect(parseClassName('T-shirt/top')).toBe(0);
    expect(parseClassName('tshirt')).toBe(0);
    expect(parseClassName('ankle boot')).toBe(9);
    expect(parseClassName('Ankle-Boot')).toBe(9);
    expect(parseClassName('7')).toBe(7);
    expect(parseClassName(' 0 ')).toBe(0);
    expect(parseClassName('Sneakers')).toBe(7);
    expect(parseClassName('pants')).toBe(1);
  });

  it('keeps shirt and T-shirt apart, and dress as dress', () => {
    expect(parseClassName('shirt')).toBe(6);
    expect(parseClassName('Shirts')).toBe(6);
    expect(parseClassName('t shirt')).toBe(0);
    expect(parseClassName('dress')).toBe(3);
    expect(parseClassName('Dresses')).toBe(3);
  });

  it('every class name, in any case and punctuation, parses back to its label', () => {
    fc.assert(
      fc.property(typedName, ({ label, text }) => {
        expect(parseClassName(text)).toBe(label);
      }),
      { numRuns: 500 },
    );
  });

  it('every label number parses to itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.constantFrom('', ' ', '0', '00'), (label, pad) => {
        expect(parseClassName(`${pad.trim()}${label}`)).toBe(label);
      }),
    );
  });

  it('refuses numbers that are not labels, with the ten names in the message', () => {
    for (const text of ['10', '-1', '7b', '3.5', '1e1']) {
      expect(() => parseClassName(text), text).toThrow(AtelierError);
    }
    try {
      parseClassName('12');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ kind: 'invalid-payload' });
      for (const name of CLASS_NAMES) expect((error as Error).message).toContain(name);
    }
  });

  it('any text gives a label 0–9 or an invalid-payload error that names all ten classes, nothing else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        try {
          const label = parseClassName(text);
          expect(Number.isInteger(label) && label >= 0 && label <= 9).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(AtelierError);
          expect((error as AtelierError).kind).toBe('invalid-payload');
          for (const name of CLASS_NAMES) expect((error as Error).message).toContain(name);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('names an unknown word in the error, and says when nothing was given', () => {
    expect(() => parseClassName('hat')).toThrow(/"hat" is not one of the clothing classes.*Ankle boot/);
    expect(() => parseClassName('   ')).toThrow(/No class given/);
  });
});

describe('checkLabel', () => {
  it('takes integers 0–9 and refuses the rest', () => {
    for (let label = 0; label < 10; label += 1) expect(checkLabel(label)).toBe(label);
    for (const bad of [-1, 10, 1.5, Number.NaN, Infinity]) expect(() => checkLabel(bad)).toThrow(/not a class label/);
  });
});
