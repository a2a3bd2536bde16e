/**
 * `atelier classify --why`, end to end (real engine worker, Fashion-MNIST, a temporary data folder):
 * each good photo's heatmap is written as FILE.why.png (the photo and its 28×28 input, the heatmap
 * over both), named in the JSON line; a file that could not be used gets none.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPhoto } from '../core/photos/test-photos';
import { runCli } from './commands';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('atelier classify --why: refusals before any work', () => {
  it('refuses --why-dir without --why, and an empty --why-dir, exit 2', async () => {
    const alone = await run(['classify', '--why-dir', '/tmp', 'photo.jpg']);
    expect(alone.code).toBe(2);
    expect(alone.err).toContain('add --why');
    const empty = await run(['classify', '--why', '--why-dir=', 'photo.jpg']);
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('Name the folder after --why-dir');
  });
});

describe.skipIf(!haveData)('atelier classify --why (real worker)', () => {
  let temp: string;
  const saved = { home: process.env.ATELIER_HOME, backend: process.env.ATELIER_BACKEND, dir: process.env.FASHION_MNIST_DIR };

  beforeAll(async () => {
    temp = mkdtempSync(join(tmpdir(), 'atelier-cli-why-'));
    process.env.ATELIER_HOME = join(temp, 'home');
    process.env.ATELIER_BACKEND = 'wasm';
    delete process.env.FASHION_MNIST_DIR;
    const trained = await run(['train', '--limit', '600', '--epochs', '1', '--hidden-units', '16', '--seed', '5']);
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

  it('writes FILE.why.png beside the JSON answer: the photo and the 28×28 input, with the heatmap drawn over both', async () => {
    const photos = join(temp, 'photos');
    mkdirSync(photos);
    const shoe = join(photos, 'shoe.jpg');
    copyFileSync(testPhoto('shoes'), shoe);
    const corrupt = join(photos, 'half.jpg');
    writeFileSync(corrupt, readFileSync(testPhoto('dress')).subarray(0, 4000));
    const out = join(temp, 'why');

    const { code, out: stdout } = await run(['classify', '--run', 'latest', '--why', '--why-dir', out, '--json', shoe, corrupt]);
    expect(code).toBe(1);
    const lines = stdout.split('\n').map((line) => JSON.parse(line) as { file: string; ok: boolean; class?: number; why?: { png: string; class: number; probability: number; method: string } });
    expect(lines.map((line) => [line.file, line.ok])).toEqual([[shoe, true], [corrupt, false]]);
    const [answer, failed] = lines;
    expect(failed!.why).toBeUndefined();
    expect(answer!.why).toMatchObject({ png: join(out, 'shoe.jpg.why.png'), class: answer!.class, method: 'occlusion' });
    expect(existsSync(corrupt + '.why.png') || existsSync(join(out, 'half.jpg.why.png'))).toBe(false);

    const { data, info } = await sharp(readFileSync(answer!.why!.png)).raw().toBuffer({ resolveWithObject: true });
    const { width, height } = await sharp(shoe).rotate().metadata().then((meta) => (meta.orientation && meta.orientation >= 5 ? { width: meta.height!, height: meta.width! } : { width: meta.width!, height: meta.height! }));
    // The photo at working size (longest side 256), a gap, the input at 8× (224 pixels).
    const scale = Math.min(1, 256 / Math.max(width, height));
    const photoWidth = info.width - 8 - 224;
    expect(Math.abs(photoWidth - width * scale)).toBeLessThanOrEqual(1);
    expect(Math.abs(info.height - Math.max(224, height * scale))).toBeLessThanOrEqual(1);
    // The input panel is gray where nothing raised the class and red–yellow where something did.
    let gray = 0;
    let hot = 0;
    for (let y = 0; y < 224; y += 1) {
      for (let x = photoWidth + 8; x < info.width; x += 1) {
        const o = (y * info.width + x) * info.channels;
        const [r, g, b] = [data[o]!, data[o + 1]!, data[o + 2]!];
        if (r === g && g === b) gray += 1;
        else if (r > b + 40) hot += 1;
      }
    }
    expect(hot).toBeGreaterThan(0);
    expect(gray).toBeGreaterThan(0);
    expect(gray + hot).toBe(224 * 224);
  }, 120_000);
});
