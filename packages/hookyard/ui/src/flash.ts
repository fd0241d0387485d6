import { portalGrant } from "./api.js";
import { h } from "./dom.js";

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

/** A small button that changes something: absent in a read-only portal. */
export function actionButton(label: string, onclick: (event: Event) => void): HTMLElement | null {
  return writable() ? h("button", { type: "button", class: "small", onclick }, label) : null;
}
