/** A Redis time as seconds since the run started, to the millisecond: `+12.345s`. */
export function formatAt(t: number, origin: number): string {
  if (!Number.isFinite(t)) return String(t);
  const s = (t - origin) / 1000;
  return `${s < 0 ? '' : '+'}${s.toFixed(3)}s`;
}
