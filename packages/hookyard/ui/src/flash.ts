import { portalGrant } from "./api.js";

/** What a page announces after it was drawn again (an action's outcome), read once. */
let pending: string | null = null;

/** Draws the current page again, then announces `text` on it. */
export function rerender(text: string): void {
  pending = text;
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

export function takeFlash(): string | null {
  const text = pending;
  pending = null;
  return text;
}

/** False in a read-only portal: pages leave out what would only be refused. */
export function writable(): boolean {
  return portalGrant()?.readOnly !== true;
}
