/**
 * `atelier classify --csv`, end to end (real engine worker, Fashion-MNIST, a temporary data folder):
 * a good photo and a corrupt file give a header and two rows, the corrupt one with its error, in a
 * file written whole, or on standard output with --csv -.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASS_NAMES } from '../core/fashion-mnist';
import { readCsv } from '../core/photos/csv-test-reader';
import { testPhoto } from '../core/photos/test-photos';
import { runCli } from './commands';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('atelier classify --csv: refusals before any work', () => {
  it('refuses --csv - with --json (both want standard output) and an empty --csv, exit 2', async () => {
    const both = await run(['classify', '--csv', '-', '--json', 'photo.jpg']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('choose one, or save the CSV to a file with --csv FILE');
    const empty = await run(['classify', '--csv=', 'photo.jpg']);
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('Name the CSV file after --csv');
  });
});

describe.skipIf(!haveData)('atelier classify --csv (real worker)', () => {
  let temp: string;
  let good: string;
  let corrupt: string;
  const saved = { home: process.env.ATELIER_HOME, backend: process.env.ATELIER_BACKEND, dir: process.env.FASHION_MNIST_DIR };

  beforeAll(async () => {
    temp = mkdtempSync(join(tmpdir(), 'atelier-cli-csv-'));
    process.env.ATELIER_HOME = join(temp, 'home');
    process.env.ATELIER_BACKEND = 'wasm';
    delete process.env.FASHION_MNIST_DIR;
    const photos = join(temp, 'photos');
    mkdirSync(photos);
    // A comma and quotes in the name: the path must come back as one field.
    good = join(photos, 'pants, "front".jpg');
    copyFileSync(testPhoto('pants'), good);
    corrupt = join(photos, 'half-downloaded.jpg');
    writeFileSync(corrupt, readFileSync(testPhoto('dress')).subarray(0, 4000));
    const trained = await run(['train', '--limit', '200', '--epochs', '1', '--hidden-units', '16', '--seed', '5']);
    expect(trained.err).toBe('');
    expect(trained.code).toBe(0);
  }, 180_000);
  afterAll(() => {
    for (const [name, value] of [['ATELIER_HOME', saved.home], ['ATELIER_BACKEND', saved.backend], ['FASHION_MNIST_DIR', saved.dir]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(temp, { recursive: true, force: true });
  });

  it('a good photo and a corrupt file: a header and two rows in order, the corrupt one with its error, written whole', async () => {
    const target = join(temp, 'out', 'results.csv');
    const { code, out, err } = await run(['classify', '--run', 'latest', good, corrupt, '--csv', target]);
    expect(err).toBe('');
    // A photo that could not be classified still makes the command fail, CSV or not.
    expect(code).toBe(1);
    expect(out).toContain(`Saved 2 rows as CSV to ${target}`);
    const text = readFileSync(target, 'utf8');
    const rows = readCsv(text);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual(['file', 'class', 'confidence', 'not sure', ...CLASS_NAMES, 'error']);
    const [goodRow, corruptRow] = [rows[1]!, rows[2]!];
    expect(goodRow[0]).toBe(good);
    expect(CLASS_NAMES).toContain(goodRow[1]);
    expect(goodRow[2]).toMatch(/^[01]\.\d{6}$/);
    expect(['true', 'false']).toContain(goodRow[3]);
    const probabilities = goodRow.slice(4, 14).map(Number);
    expect(probabilities.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 4);
    expect(goodRow[2]).toBe(Math.max(...probabilities).toFixed(6));
    expect(goodRow[14]).toBe('');
    expect(corruptRow[0]).toBe(corrupt);
    expect(corruptRow.slice(1, 14).every((field) => field === '')).toBe(true);
    expect(corruptRow[14]).toMatch(/^photo-corrupt: .*half-downloaded\.jpg/);
    // Written through a temporary sibling and renamed: nothing else is left in the folder.
    expect(readdirSync(join(temp, 'out'))).toEqual(['results.csv']);
  }, 120_000);

  it('--csv - prints the same CSV and nothing else on standard output', async () => {
    const { code, out } = await run(['classify', '--run', 'latest', good, corrupt, '--csv', '-']);
    expect(code).toBe(1);
    // io.out adds the final LF, as the CLI's standard output does.
    expect(`${out}\n`).toBe(readFileSync(join(temp, 'out', 'results.csv'), 'utf8'));
  }, 120_000);

  it('a folder as the CSV target: says why and what to do, after printing the results', async () => {
    const { code, out, err } = await run(['classify', '--run', 'latest', good, '--csv', temp]);
    expect(code).toBe(1);
    expect(out).toContain('Classified with');
    expect(err).toContain(`${temp}: the CSV could not be saved (it is a folder) — name a file in a folder you can write to.`);
  }, 120_000);
});
