/** A learning rate as people write it: 0.001, 0.0051, 3e-7 (two significant digits). */
export function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return String(rate);
  const rounded = Number(rate.toPrecision(2));
  return rounded !== 0 && Math.abs(rounded) < 1e-4 ? rounded.toExponential() : String(rounded);
}
