// Small helpers the benchmarks share to print medians and percentiles.

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summary(samples: readonly number[]): { median: number; p99: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, n: s.length };
}

export function report(name: string, value: number | string, unit = ''): void {
  const v = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : value;
  console.log(`${name.padEnd(56)} ${v}${unit ? ` ${unit}` : ''}`);
}
