// Small numeric helpers shared by the phases: percentiles, medians, rates.

/** Nearest-rank percentile (p in 0..100) of the numbers in `values`; NaN when empty. */
export function percentile(values, p) {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1];
}

/** p50/p99/max of a latency sample in ms. */
export function latencySummary(values) {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: percentile(values, 100),
  };
}

/** Median of the finite numbers in `values`; NaN when there are none. */
export function median(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  return percentile(finite, 50);
}

export function minOf(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? Number.NaN : Math.min(...finite);
}

export function maxOf(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? Number.NaN : Math.max(...finite);
}

/** Events per second; NaN when the interval is not positive. */
export function perSecond(count, elapsedMs) {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : Number.NaN;
}

export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN;
}
