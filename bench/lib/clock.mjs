// A wall clock in ms with sub-ms precision that two processes on this machine agree on
// (performance.timeOrigin is taken from the system clock at process start; performance.now()
// is monotonic from there). Used for cross-process latencies (publish in one process, arrival
// in the receiver); run.mjs measures and prints the residual offset between the processes.
export function wallNow() {
  return performance.timeOrigin + performance.now();
}
