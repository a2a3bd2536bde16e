import { describe, expect, it } from 'vitest';
import { instantiateSimdKernels, type SimdKernels } from './simd-kernels.js';
import { mulberry32 } from '../../random';

/**
 * The fused Dense step's register-tiled kernels (simd-kernels.wat) against plain float32
 * references on random shapes: batch 1, odd batches, odd widths, outputs that use only the
 * 4-wide tail, and the splits into parts and ranges that threads make. The tiles add exact
 * zeros (0·w) to each sum, so each result equals the reference's sum over the nonzero terms in
 * the same order, bit for bit (a −0 may come out as +0).
 */

const f = Math.fround;
const TILE = 2;
const ceil4 = (n: number) => Math.ceil(n / 4) * 4;
/** −0 → +0, so bit-exact comparisons ignore the sign of zero. */
const plain = (values: ArrayLike<number>) => Array.from(values, (v) => v + 0);

/** The kernels on a fresh memory, with a bump allocator (16-byte aligned byte offsets). */
function workspace(bytes = 1 << 22) {
  const own = instantiateSimdKernels(bytes);
  if (!own) throw new Error('no WebAssembly SIMD');
  const f32 = new Float32Array(own.memory.buffer);
  const i32 = new Int32Array(own.memory.buffer);
  const u8 = new Uint8Array(own.memory.buffer);
  let top = 64;
  const alloc = (byteCount: number) => {
    const at = top;
    top += Math.ceil(byteCount / 16) * 16 + 16;
    return at;
  };
  return { k: own.kernels as SimdKernels, f32, i32, u8, alloc };
}

/** rows × cols values with about half exactly 0 (as images and ReLU outputs have). */
function sparseMatrix(rows: number, cols: number, next: () => number, scale = 1): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (next() < 0.5 ? 0 : f((next() * 2 - 1) * scale))));
}

interface Shape {
  rows: number;
  cols: number;
  units: number;
}

/** Random shapes with batch 1, odd batches and widths, and outputs below, at and above 16. */
function shapes(seed: number): Shape[] {
  const next = mulberry32(seed);
  const fixed: Shape[] = [
    { rows: 1, cols: 1, units: 1 },
    { rows: 1, cols: 7, units: 3 },
    { rows: 2, cols: 2, units: 16 },
    { rows: 3, cols: 5, units: 17 },
    { rows: 32, cols: 784, units: 128 },
    { rows: 32, cols: 128, units: 10 },
  ];
  const random = Array.from({ length: 8 }, () => ({ rows: 1 + Math.floor(next() * 9), cols: 1 + Math.floor(next() * 40), units: 1 + Math.floor(next() * 40) }));
  return [...fixed, ...random];
}

describe('sparseTiles', () => {
  it('lists each tile of two rows by the columns where either is nonzero, bytes or floats, and writes the transpose', () => {
    for (const [n, { rows, cols }] of shapes(1).entries()) {
      for (const bytes of [0, 1]) {
        const { k, f32, i32, u8, alloc } = workspace();
        const next = mulberry32(100 * n + bytes);
        const stride = cols + (n % 3);
        const tiles = Math.ceil(rows / TILE);
        const cap = tiles * TILE;
        const raw: number[][] = Array.from({ length: rows }, () => Array.from({ length: stride }, () => (next() < 0.5 ? 0 : bytes ? 1 + Math.floor(next() * 255) : f(next() * 2 - 1))));
        if (!bytes && rows * cols > 3) raw[0]![cols - 1] = Number.NaN;
        const x = alloc(rows * stride * 4);
        raw.forEach((row, r) => row.forEach((v, c) => (bytes ? (u8[x + r * stride + c] = v) : (f32[(x >> 2) + r * stride + c] = v))));
        const idx = alloc(tiles * cols * 4);
        const val = alloc(tiles * cols * TILE * 4);
        const count = alloc(tiles * 4);
        const xt = alloc(cols * cap * 4);
        k.sparseTiles(x, rows, cols, stride, bytes, idx, val, count, xt, cap);

        const value = (r: number, c: number) => (r >= rows ? 0 : bytes ? f(raw[r]![c]! / 255) : raw[r]![c]!);
        for (let t = 0; t < tiles; t++) {
          const expected: { col: number; values: number[] }[] = [];
          for (let c = 0; c < cols; c++) {
            const values = [0, 1].map((l) => value(TILE * t + l, c));
            if (values.some((v) => v !== 0)) expected.push({ col: c, values });
          }
          const got = Array.from({ length: i32[(count >> 2) + t]! }, (_, j) => ({
            col: i32[(idx >> 2) + t * cols + j]!,
            values: [0, 1].map((l) => f32[(val >> 2) + (t * cols + j) * TILE + l]!),
          }));
          expect(got, `${rows}×${cols}, bytes ${bytes}, tile ${t}`).toEqual(expected);
        }
        for (let c = 0; c < cols; c++) {
          for (let r = 0; r < rows; r++) expect(f32[(xt >> 2) + c * cap + r], `transpose ${c}, ${r}`).toEqual(value(r, c));
        }
      }
    }
  });
});

describe('denseForwardTiles', () => {
  it('equals act(x·W + b) summed in float32 over each row’s nonzero inputs in order, whatever the split into calls', () => {
    for (const [n, { rows, cols, units }] of shapes(2).entries()) {
      for (const relu of [0, 1]) {
        const { k, f32, i32, alloc } = workspace();
        const next = mulberry32(200 * n + relu);
        const stride = ceil4(units);
        const tiles = Math.ceil(rows / TILE);
        const cap = tiles * TILE;
        const xs = sparseMatrix(rows, cols, next);
        const w = Array.from({ length: cols }, () => Array.from({ length: stride }, (_, o) => (o < units ? f(next() - 0.5) : 0)));
        const bias = Array.from({ length: stride }, (_, o) => (o < units ? f(next() * 0.2 - 0.1) : 0));
        const x = alloc(rows * cols * 4);
        xs.forEach((row, r) => f32.set(row, (x >> 2) + r * cols));
        const idx = alloc(tiles * cols * 4);
        const val = alloc(tiles * cols * TILE * 4);
        const count = alloc(tiles * 4);
        const xt = alloc(cols * cap * 4);
        const wAt = alloc(cols * stride * 4);
        w.forEach((row, c) => f32.set(row, (wAt >> 2) + c * stride));
        const bAt = alloc(stride * 4);
        f32.set(bias, bAt >> 2);
        const out = alloc((rows + 1) * stride * 4);
        f32.fill(7, (out >> 2) + rows * stride, (out >> 2) + (rows + 1) * stride);
        k.sparseTiles(x, rows, cols, cols, 0, idx, val, count, xt, cap);
        // As threads split a batch: contiguous ranges of whole tiles.
        const cut = Math.floor(tiles / 2);
        for (const [t0, t1] of [[0, cut], [cut, tiles]] as const) {
          if (t1 === t0) continue;
          const r0 = t0 * TILE;
          const r1 = Math.min(t1 * TILE, rows);
          k.denseForwardTiles(idx + 4 * t0 * cols, val + 4 * TILE * t0 * cols, count + 4 * t0, r1 - r0, cols, wAt, bAt, out + 4 * r0 * stride, stride, relu);
        }
        expect(i32[0]).toBe(0);
        const expected = xs.flatMap((row) =>
          bias.map((b, o) => {
            let sum = b;
            row.forEach((v, c) => {
              if (v !== 0) sum = f(sum + f(v * w[c]![o]!));
            });
            return relu && !(sum > 0) && !Number.isNaN(sum) ? 0 : sum;
          }),
        );
        expect(plain(f32.subarray(out >> 2, (out >> 2) + rows * stride)), `${rows}×${cols} → ${units}, relu ${relu}`).toEqual(plain(expected));
        expect(Array.from(f32.subarray((out >> 2) + rows * stride, (out >> 2) + (rows + 1) * stride)), 'the row after the batch').toEqual(new Array(stride).fill(7));
      }
    }
  });
});

describe('columnPairs and denseWeightGradientAdamPairs', () => {
  it('list rows by pairs of columns, and give xᵀ·dz summed in float32 in row order, then Adam, whatever the parts and ranges', () => {
    const adam = { beta1: f(0.9), beta2: f(0.999), oneMinusBeta1: f(1 - 0.9), oneMinusBeta2: f(1 - 0.999), lrc: f(-0.01 / (1 - 0.9 ** 3)), rc2: f(1 / Math.sqrt(1 - 0.999 ** 3)), eps: f(1e-7) };
    for (const [n, { rows, cols, units }] of shapes(3).entries()) {
      for (const parts of [1, 2, 3].filter((p) => p <= Math.ceil(rows / TILE))) {
        const { k, f32, i32, alloc } = workspace();
        const next = mulberry32(300 * n + parts);
        const stride = ceil4(units);
        const tiles = Math.ceil(rows / TILE);
        const cap = tiles * TILE;
        const pairs = Math.ceil(cols / 2);
        const xs = sparseMatrix(rows, cols, next);
        const dz = Array.from({ length: rows }, () => Array.from({ length: stride }, (_, o) => (o < units ? f((next() - 0.5) * 0.1) : 0)));
        const block = () => Array.from({ length: cols }, () => Array.from({ length: stride }, (_, o) => (o < units ? f(next() - 0.5) : 0)));
        const [w, m, v] = [block(), block(), block().map((row) => row.map((x) => f(Math.abs(x) * 0.01)))];

        const x = alloc(rows * cols * 4);
        xs.forEach((row, r) => f32.set(row, (x >> 2) + r * cols));
        const idx = alloc(tiles * cols * 4);
        const val = alloc(tiles * cols * TILE * 4);
        const count = alloc(tiles * 4);
        const xt = alloc(2 * pairs * cap * 4);
        const dzAt = alloc(rows * stride * 4);
        dz.forEach((row, r) => f32.set(row, (dzAt >> 2) + r * stride));
        // w, m and v each with one more row after the kernel (the bias's place), which must stay.
        const place = (rowsOf: number[][]): number => {
          const at = alloc((cols + 1) * stride * 4);
          rowsOf.forEach((row, c) => f32.set(row, (at >> 2) + c * stride));
          f32.fill(5, (at >> 2) + cols * stride, (at >> 2) + (cols + 1) * stride);
          return at;
        };
        const wAt = place(w!);
        const mAt = place(m!);
        const vAt = place(v!);
        const partBytes = ceil4(3 * pairs * cap + pairs) * 4;
        const lists = alloc(parts * partBytes);

        // The forward round: each part (thread) its own tiles and its own pair list set.
        const tileRanges = Array.from({ length: parts }, (_, p) => [Math.floor((tiles * p) / parts), Math.floor((tiles * (p + 1)) / parts)] as const);
        for (const [p, [t0, t1]] of tileRanges.entries()) {
          const r0 = t0 * TILE;
          const r1 = Math.min(t1 * TILE, rows);
          k.sparseTiles(x + 4 * r0 * cols, r1 - r0, cols, cols, 0, idx + 4 * t0 * cols, val + 4 * TILE * t0 * cols, count + 4 * t0, xt + 4 * r0, cap);
          k.columnPairs(xt, r0, r1, cols, cap, lists + p * partBytes);
          for (let q = 0; q < pairs; q++) {
            const expected: number[][] = [];
            for (let r = r0; r < r1; r++) {
              const pair = [xs[r]![2 * q]!, 2 * q + 1 < cols ? xs[r]![2 * q + 1]! : 0];
              if (pair.some((value) => value !== 0)) expected.push([r, ...pair]);
            }
            const base = (lists + p * partBytes) >> 2;
            const got = Array.from({ length: i32[base + 3 * pairs * cap + q]! }, (_, j) => [
              i32[base + q * cap + j]!,
              f32[base + pairs * cap + 2 * (q * cap + j)]!,
              f32[base + pairs * cap + 2 * (q * cap + j) + 1]!,
            ]);
            expect(got, `${rows}×${cols}, part ${p}, pair ${q}`).toEqual(expected);
          }
        }

        // The weight round, in up to three ranges of pairs.
        const cuts = [0, Math.floor(pairs / 3), Math.floor((2 * pairs) / 3), pairs];
        for (let c = 0; c < 3; c++) {
          if (cuts[c + 1]! > cuts[c]!) {
            k.denseWeightGradientAdamPairs(lists, cols, cap, parts, partBytes, cuts[c]!, cuts[c + 1]!, dzAt, stride, wAt, mAt, vAt,
              adam.beta1, adam.beta2, adam.oneMinusBeta1, adam.oneMinusBeta2, adam.lrc, adam.rc2, adam.eps);
          }
        }
        const expected = { w: [] as number[], m: [] as number[], v: [] as number[] };
        for (let c = 0; c < cols; c++) {
          for (let o = 0; o < stride; o++) {
            let g = 0;
            for (let r = 0; r < rows; r++) if (xs[r]![c] !== 0) g = f(g + f(xs[r]![c]! * dz[r]![o]!));
            const mm = f(f(m[c]![o]! * adam.beta1) + f(g * adam.oneMinusBeta1));
            const vv = f(f(v[c]![o]! * adam.beta2) + f(f(g * g) * adam.oneMinusBeta2));
            expected.m.push(mm);
            expected.v.push(vv);
            expected.w.push(f(w[c]![o]! + f(f(mm * adam.lrc) / f(f(f(Math.sqrt(vv)) * adam.rc2) + adam.eps))));
          }
        }
        for (const [name, at] of [['w', wAt], ['m', mAt], ['v', vAt]] as const) {
          expect(plain(f32.subarray(at >> 2, (at >> 2) + cols * stride)), `${rows}×${cols} → ${units}, ${parts} parts: ${name}`).toEqual(plain(expected[name]));
          expect(Array.from(f32.subarray((at >> 2) + cols * stride, (at >> 2) + (cols + 1) * stride)), `${name}: the row after the kernel`).toEqual(new Array(stride).fill(5));
        }
      }
    }
  });
});
