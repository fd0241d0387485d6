import { ApiException } from "svix";

/** The error an SDK call rejects with, for asserting status and body; fails if it succeeds. */
export async function apiError(call: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) return err as ApiException<unknown>;
    throw err;
  }
  throw new Error("expected the call to fail with an API error, but it succeeded");
}
