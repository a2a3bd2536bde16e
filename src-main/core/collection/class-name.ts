/**
 * Class names as people type them ("t-shirt", "Ankle-Boot", "7") → a Fashion-MNIST label.
 * Shared by the CLI's arguments and the contract's payloads, so both forgive the same spellings.
 */
import { AtelierError } from '../errors';
import { CLASS_NAMES } from '../fashion-mnist';

/**
 * Letters and digits only, lower case, accents folded: "T-shirt/top", "tshirt top" and
 * "T_SHIRT.TOP" all become "tshirttop", so punctuation and case never decide a match.
 */
function normalise(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/**
 * Every normalised spelling taken for a class. Plurals and a few everyday words are listed one
 * by one rather than stripped by rule, so "dress" and "shirt" never turn into something else.
 * "top" and "boot" are safe: no other class is called that.
 */
const SPELLINGS: readonly (readonly string[])[] = [
  ['tshirttop', 'tshirt', 'tshirts', 'teeshirt', 'teeshirts', 'tee', 'tees', 'top', 'tops'],
  ['trouser', 'trousers', 'pants'],
  ['pullover', 'pullovers', 'sweater', 'sweaters', 'jumper', 'jumpers'],
  ['dress', 'dresses'],
  ['coat', 'coats'],
  ['sandal', 'sandals'],
  ['shirt', 'shirts'],
  ['sneaker', 'sneakers'],
  ['bag', 'bags'],
  ['ankleboot', 'ankleboots', 'boot', 'boots'],
];

const LABEL_BY_SPELLING: ReadonlyMap<string, number> = new Map(SPELLINGS.flatMap((spellings, label) => spellings.map((spelling) => [spelling, label] as const)));

/** The ten names with their numbers, for messages that must say what would have worked. */
export function classNameChoices(): string {
  return CLASS_NAMES.map((name, label) => `${label} ${name}`).join(', ');
}

/**
 * The label (0–9) a person meant by `text`: a class name in any case and punctuation
 * ("t-shirt", "T-shirt/top", "tshirt", "ankle boot", "Ankle-Boot"), a plural or an everyday
 * word for it ("pants", "sweater", "boots"), or the label's number ("7").
 * Throws an `invalid-payload` AtelierError naming the ten classes when nothing matches.
 */
export function parseClassName(text: string): number {
  const trimmed = text.trim();
  // Digits only as the whole answer: "-1" or "7b" must not become a label once punctuation is dropped.
  if (/^[0-9]+$/.test(trimmed)) {
    const label = Number(trimmed);
    if (label < CLASS_NAMES.length) return label;
    throw new AtelierError('invalid-payload', `${trimmed} is not a class number: the classes are ${classNameChoices()}.`);
  }
  const label = LABEL_BY_SPELLING.get(normalise(trimmed));
  if (label !== undefined) return label;
  if (trimmed === '') throw new AtelierError('invalid-payload', `No class given: name one of ${classNameChoices()}.`);
  const shown = trimmed.length > 40 ? `${trimmed.slice(0, 40)}…` : trimmed;
  throw new AtelierError('invalid-payload', `"${shown}" is not one of the clothing classes: name one of ${classNameChoices()}.`);
}

/**
 * Check a label given as a number (a contract payload, an API call): an integer 0–9.
 * Throws an `invalid-payload` AtelierError naming the ten classes otherwise.
 */
export function checkLabel(label: number): number {
  if (Number.isInteger(label) && label >= 0 && label < CLASS_NAMES.length) return label;
  throw new AtelierError('invalid-payload', `${String(label)} is not a class label: give a number 0–9 (${classNameChoices()}).`);
}
