import type { Child } from "../dom.js";
import { enc } from "../api.js";
import { h } from "../dom.js";

/** What the Send pages read of the API's JSON (Svix's shapes). */
export interface App {
  id: string;
  uid: string | null;
  name: string;
  createdAt: string;
}
export interface Endpoint {
  id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  eventTypes?: string[] | null;
  filterTypes?: string[] | null;
  channels: string[] | null;
  throttleRate?: number | null;
  rateLimit?: number | null;
  createdAt: string;
}
export interface Message {
  id: string;
  eventType: string;
  eventId: string | null;
  channels: string[] | null;
  payload?: unknown;
  timestamp: string;
}
export interface Attempt {
  id: string;
  msgId: string;
  endpointId: string;
  url: string;
  response: string;
  responseStatusCode: number;
  responseDurationMs: number;
  status: number;
  triggerType: number;
  timestamp: string;
  errorClass?: string | null;
  errorMessage?: string | null;
  responseHeaders?: Record<string, string> | null;
}

export const ATTEMPT_STATUS: Record<number, [string, "ok" | "bad" | "warn" | "neutral"]> = {
  0: ["succeeded", "ok"],
  1: ["pending", "warn"],
  2: ["failed", "bad"],
  3: ["sending", "neutral"],
  4: ["cancelled", "neutral"],
};

export function appBase(app: string): string {
  return `/api/v1/app/${enc(app)}`;
}

export function link(href: string, text: Child): HTMLAnchorElement {
  return h("a", { href }, text);
}

/** A comma-separated list typed in a field. */
export function list(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** Applications / <app> / <what>: where a page of one application is. */
export function appCrumbs(app: App, what: string): HTMLElement {
  return h(
    "p",
    { class: "crumbs" },
    link("#/apps", "Applications"),
    " / ",
    link(`#/apps/${enc(app.uid ?? app.id)}`, app.name),
    ` / ${what}`,
  );
}
