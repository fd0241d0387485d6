import { expect, vi } from "vitest";
import type { Receiver } from "./receiver.js";

/**
 * Waits (up to `timeoutMs`) until every message id in `acked` reached `receiver`, then returns how
 * many requests arrived more than once (at-least-once delivery after a crash).
 */
export async function expectAllDelivered(
  receiver: Receiver,
  acked: ReadonlySet<string>,
  timeoutMs = 30_000,
): Promise<{ duplicates: number }> {
  await vi.waitFor(
    () => {
      const delivered = new Set(receiver.requests.map((r) => r.headers["webhook-id"]));
      const missing = [...acked].filter((id) => !delivered.has(id));
      expect(
        missing,
        `${missing.length} of ${acked.size} acknowledged messages not delivered yet`,
      ).toEqual([]);
    },
    { timeout: timeoutMs, interval: 50 },
  );
  const distinct = new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size;
  return { duplicates: receiver.requests.length - distinct };
}
