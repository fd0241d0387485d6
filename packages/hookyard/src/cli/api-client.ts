/** The server the API commands (`tail`, `bin`, …) talk to unless told otherwise. */
export const DEFAULT_SERVER_URL = "http://127.0.0.1:8080";

/** A command's request the server refused or could not take; `message` is the one line to print. */
export class ApiCallError extends Error {
  /** The server's status, or null when it was not reached (or no key was given). */
  readonly status: number | null;

  constructor(message: string, status: number | null = null) {
    super(message);
    this.status = status;
  }
}

/**
 * A client of the Hookyard API for the CLI's commands, as curl or the svix SDK would be one:
 * bearer key, JSON in and out, and failures turned into one line that says why.
 */
export class ApiClient {
  readonly base: string;
  readonly #apiKey: string;

  constructor(server: string, apiKey: string | undefined) {
    if (apiKey === undefined || apiKey === "") {
      throw new ApiCallError("no API key (--api-key or HOOKYARD_API_KEY)");
    }
    this.base = server.replace(/\/+$/, "");
    this.#apiKey = apiKey;
  }

  /** The raw response of a request whose status is 2xx; anything else is an ApiCallError. */
  async send(
    method: string,
    path: string,
    init: { body?: unknown; accept?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      accept: init.accept ?? "application/json",
    };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      // eslint-disable-next-line no-restricted-globals -- the CLI is a client of the Hookyard API (as curl or the svix SDK would be), not webhook egress
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
        ...(init.signal !== undefined && { signal: init.signal }),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : "";
      throw new ApiCallError(`cannot reach ${this.base}${cause ? ` (${cause})` : ""}`);
    }
    if (!response.ok) {
      const detail = await response.text().then(
        (text) => describeDetail((JSON.parse(text) as { detail?: unknown }).detail),
        () => null,
      );
      throw new ApiCallError(
        `the server answered ${response.status}${detail === null ? "" : `: ${detail}`}`,
        response.status,
      );
    }
    return response;
  }

  /** The JSON answer of a request (null for 204). */
  async json<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const response = await this.send(method, path, {
      ...(body !== undefined && { body }),
      ...(opts.signal !== undefined && { signal: opts.signal }),
    });
    if (response.status === 204) return null as T;
    return (await response.json()) as T;
  }
}

/** An error body's `detail`: a sentence, or (422) Svix's list of `{loc, msg}` per bad field. */
function describeDetail(detail: unknown): string | null {
  if (typeof detail === "string") return detail;
  if (!Array.isArray(detail)) return null;
  const problems = detail.flatMap((item: unknown) => {
    if (typeof item !== "object" || item === null) return [];
    const { loc, msg } = item as { loc?: unknown; msg?: unknown };
    const where = Array.isArray(loc) ? loc.join(".") : "";
    return typeof msg === "string" ? [where === "" ? msg : `${where}: ${msg}`] : [];
  });
  return problems.length === 0 ? null : problems.join("; ");
}
