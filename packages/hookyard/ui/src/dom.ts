/**
 * The one way the dashboard makes DOM: elements with attributes, listeners and children, where
 * every string becomes a text node. Nothing is ever parsed as HTML (no innerHTML anywhere), so
 * whatever a payload, a header or a request body holds is shown, never run.
 */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Props = Record<string, string | number | boolean | EventListener | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) {
      // A handler is a function, never text (an inline handler is code made of strings).
      if (typeof value !== "function") throw new Error(`${name} must be a function`);
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (typeof value === "function") throw new Error(`${name} cannot be a function`);
    else if (name === "href" && !/^[#/]/.test(String(value))) {
      throw new Error(`href must be a path of this server, not ${String(value)}`);
    } else if (name === "value" && "value" in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child as readonly Child[]);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child as string | number)));
  }
}

/** Replaces what `parent` holds. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A local time for a timestamp, with the ISO time as its tooltip. */
export function time(iso: string | null | undefined): HTMLElement {
  if (iso === null || iso === undefined) return h("span", { class: "muted" }, "—");
  const date = new Date(iso);
  return h("time", { datetime: iso, title: iso }, date.toLocaleString());
}

/** A status shown as a coloured badge with its text (never colour alone). */
export function badge(text: string, tone: "ok" | "bad" | "warn" | "neutral"): HTMLElement {
  return h("span", { class: `badge ${tone}` }, text);
}

/** A button that copies `text` and says so. */
export function copyButton(text: string, label = "Copy"): HTMLButtonElement {
  const button = h("button", { type: "button", class: "small" }, label);
  button.addEventListener("click", () => {
    void navigator.clipboard?.writeText(text).then(
      () => (button.textContent = "Copied"),
      () => (button.textContent = "Select and copy"),
    );
  });
  return button;
}

export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint === undefined ? null : h("small", { class: "muted" }, hint),
  );
}

/** An error line for a failed call, announced to screen readers. */
export function errorBox(err: unknown): HTMLElement {
  return h(
    "p",
    { class: "error", role: "alert" },
    err instanceof Error ? err.message : String(err),
  );
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element (charts): attributes as text, children appended. */
export function svg(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}
