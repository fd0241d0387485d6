import type { DeliveryStatus, EndpointStats } from "../../model.js";

/** Delivery counts by status → Svix's endpoint stats. A delivery being sent counts as pending. */
export function toEndpointStats(rows: ReadonlyArray<{ status: string; n: number }>): EndpointStats {
  const stats: EndpointStats = { success: 0, pending: 0, sending: 0, fail: 0, canceled: 0 };
  for (const { status, n } of rows) {
    const s = status as DeliveryStatus;
    switch (s) {
      case "succeeded":
        stats.success += n;
        break;
      case "pending":
      case "retrying":
        stats.pending += n;
        break;
      case "failed":
        stats.fail += n;
        break;
      case "cancelled":
        stats.canceled += n;
        break;
      default: {
        const unknown: never = s;
        throw new Error(`unknown delivery status in the database: ${String(unknown)}`);
      }
    }
  }
  return stats;
}
