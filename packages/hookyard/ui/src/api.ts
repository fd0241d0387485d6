/**
 * The dashboard is a client of Hookyard's own API, as the svix SDK or curl would be: the admin
 * key (kept for this browser tab only, in sessionStorage) as a bearer token, JSON in and out.
 */
const KEY = "hookyard.apiKey";

export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export interface Page<T> {
  data: T[];
  iterator: string | null;
  done: boolean;
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

/** What an app portal token (kept as the key) grants, read from the token itself; or null. */
export function portalGrant(): { appId: string; appUid: string | null; readOnly: boolean } | null {
  const key = storedKey();
  if (key === null || !key.startsWith("portal_")) return null;
  try {
    const body = key.slice("portal_".length, key.lastIndexOf("."));
    const json = atob(body.replace(/-/g, "+").replace(/_/g, "/"));
    const grant = JSON.parse(json) as {
      appId: string;
      appUid: string | null;
      readOnly: boolean;
      expiresAt: number;
    };
    return grant.expiresAt * 1000 > Date.now() ? grant : null;
  } catch {
    return null;
  }
}

export function signIn(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  location.hash = location.pathname === "/portal" ? "#/" : "#/signin";
}

/** One call; a 401 signs out (the key was changed or is wrong). */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const key = storedKey();
  const headers: Record<string, string> = { accept: "application/json" };
  if (key !== null) headers["authorization"] = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (res.status === 401 && key !== null && !path.endsWith("/api/v1/app?limit=1")) signOut();
  if (!res.ok) throw new ApiError(await failure(res), res.status);
  if (res.status === 204) return null as T;
  return (await res.json()) as T;
}

async function failure(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const { detail } = JSON.parse(text) as { detail?: unknown };
    if (typeof detail === "string") return `${res.status}: ${detail}`;
    if (Array.isArray(detail)) {
      return `${res.status}: ${detail
        .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join(".")}: ${d.msg ?? ""}`)
        .join("; ")}`;
    }
  } catch {
    // not JSON
  }
  return `${res.status} ${res.statusText}`;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => call<T>("POST", path, body ?? {});
export const patch = <T>(path: string, body: unknown) => call<T>("PATCH", path, body);
export const put = <T>(path: string, body: unknown) => call<T>("PUT", path, body);
export const del = (path: string) => call<null>("DELETE", path);

export function enc(part: string): string {
  return encodeURIComponent(part);
}

/** `path` with the query parameters that are set. */
export function withQuery(path: string, query: Record<string, string | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(name, value);
  }
  const text = params.toString();
  return text === "" ? path : `${path}${path.includes("?") ? "&" : "?"}${text}`;
}

/**
 * Follows a Server-Sent Events stream of the API (EventSource cannot send the key) until
 * `signal` aborts; calls `onEvent` for each event.
 */
export async function stream(
  path: string,
  signal: AbortSignal,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  const res = await fetch(path, {
    headers: { authorization: `Bearer ${storedKey() ?? ""}`, accept: "text/event-stream" },
    signal,
  });
  if (!res.ok || res.body === null) throw new ApiError(await failure(res), res.status);
  // The server has subscribed before it answers: from here on nothing is missed.
  onEvent("open", "");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value.replace(/\r\n?/g, "\n");
    let end: number;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) onEvent(event, data.join("\n"));
    }
  }
}
