// Bounded closed-loop load: `lanes` async loops share one counter and each awaits `op(i)` before
// taking the next index. Stops at `total` operations, at `deadlineMs`, or after `maxErrors`.

let aborted = null;

/** Makes every running and future load loop stop at its next operation (Ctrl-C, watchdog). */
export function abortRun(reason) {
  aborted ??= reason;
}

/** Why the run was aborted, or null. */
export function abortReason() {
  return aborted;
}

export async function runLanes({ lanes, total, deadlineMs, maxErrors = 200, op }) {
  const latencies = new Float64Array(total);
  let next = 0;
  let completed = 0;
  let errors = 0;
  let firstError = null;
  let stopReason = null;
  const start = performance.now();
  const deadline = start + deadlineMs;
  let lastEnd = start;

  async function lane() {
    for (;;) {
      if (aborted !== null) stopReason ??= `aborted: ${aborted}`;
      if (stopReason !== null) return;
      const i = next++;
      if (i >= total) return;
      if (performance.now() > deadline) {
        stopReason = `time bound of ${deadlineMs} ms reached`;
        return;
      }
      const t0 = performance.now();
      try {
        await op(i);
        const t1 = performance.now();
        latencies[completed++] = t1 - t0;
        lastEnd = t1;
      } catch (err) {
        errors++;
        lastEnd = performance.now();
        if (firstError === null) firstError = err instanceof Error ? err.message : String(err);
        if (errors >= maxErrors) stopReason = `${errors} errors (first: ${firstError})`;
      }
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, total)) }, lane));
  return {
    attempted: completed + errors,
    completed,
    errors,
    firstError,
    stopReason,
    elapsedMs: lastEnd - start,
    latencies: latencies.subarray(0, completed),
  };
}
