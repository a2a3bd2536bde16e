/**
 * How a "why" heatmap is coloured, shared by the renderer's overlay and the CLI's PNG: only what
 * raised the top class is drawn (hiding it lowered the probability), scaled to the map's largest
 * drop, from transparent through red to yellow. Plain arithmetic, no Node.
 */

/** The positive part of `map`, divided by its largest value (all 0 when nothing raised the class). */
export function normaliseHeat(map: ArrayLike<number>): Float32Array {
  let largest = 0;
  for (let i = 0; i < map.length; i += 1) largest = Math.max(largest, map[i] ?? 0);
  const out = new Float32Array(map.length);
  if (largest <= 0) return out;
  for (let i = 0; i < map.length; i += 1) out[i] = Math.max(0, map[i] ?? 0) / largest;
  return out;
}

/** Heat below this share of the largest drop is left undrawn: the model's noise, not a reason. */
export const HEAT_FLOOR = 0.1;

/** RGBA (0–255) for a heat in [0, 1]: transparent below `HEAT_FLOOR`, red at ½, opaque-ish yellow at 1. */
export function heatColour(heat: number): [number, number, number, number] {
  const t = Math.min(1, Math.max(0, heat));
  if (t < HEAT_FLOOR) return [0, 0, 0, 0];
  return [255, Math.round(40 + 215 * Math.max(0, t * 2 - 1)), Math.round(20 * t), Math.round(255 * (0.15 + 0.65 * t))];
}

/** Paint `heat` (one value per pixel of `rgba`, normalised) over an RGBA picture in place. */
export function paintHeat(rgba: Uint8Array | Uint8ClampedArray, heat: ArrayLike<number>): void {
  for (let i = 0; i < heat.length; i += 1) {
    const [r, g, b, a] = heatColour(heat[i] ?? 0);
    if (a === 0) continue;
    const alpha = a / 255;
    const o = i * 4;
    rgba[o] = Math.round(rgba[o]! * (1 - alpha) + r * alpha);
    rgba[o + 1] = Math.round(rgba[o + 1]! * (1 - alpha) + g * alpha);
    rgba[o + 2] = Math.round(rgba[o + 2]! * (1 - alpha) + b * alpha);
  }
}
