/** Summary of repeated timings: the median is what the reports quote; min and max show the spread. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** Every sample, in the order taken (milliseconds unless said otherwise). */
  samples: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const rounded = samples.map((v) => Math.round(v * 100) / 100);
  return {
    n: rounded.length,
    median: Math.round(median(rounded) * 100) / 100,
    min: rounded.length ? Math.min(...rounded) : NaN,
    max: rounded.length ? Math.max(...rounded) : NaN,
    samples: rounded,
  };
}

/** Milliseconds for people: "850 ms", "1.24 s", "2 min 5 s". */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** "median (min–max)" of a summary. */
export function formatSummary(s: Summary | undefined): string {
  if (!s || s.n === 0) return '–';
  if (s.n === 1) return formatMs(s.median);
  return `${formatMs(s.median)} (${formatMs(s.min)}–${formatMs(s.max)})`;
}
