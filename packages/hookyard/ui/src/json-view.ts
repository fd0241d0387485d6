import { h } from "./dom.js";

/**
 * JSON with syntax highlighting, built as spans of text (never parsed as HTML). Text that is
 * not JSON is shown as it is.
 */
export function jsonView(text: string): HTMLElement {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return h("pre", { class: "code" }, text);
  }
  const pre = h("pre", { class: "code json" });
  render(pre, value, 0);
  return pre;
}

function render(out: HTMLElement, value: unknown, depth: number): void {
  const pad = "  ".repeat(depth);
  if (value === null) out.append(h("span", { class: "j-null" }, "null"));
  else if (typeof value === "string")
    out.append(h("span", { class: "j-str" }, JSON.stringify(value)));
  else if (typeof value === "number") out.append(h("span", { class: "j-num" }, String(value)));
  else if (typeof value === "boolean") out.append(h("span", { class: "j-bool" }, String(value)));
  else if (Array.isArray(value)) {
    if (value.length === 0) return void out.append("[]");
    out.append("[\n");
    value.forEach((item, i) => {
      out.append(`${pad}  `);
      render(out, item, depth + 1);
      out.append(i < value.length - 1 ? ",\n" : "\n");
    });
    out.append(`${pad}]`);
  } else {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return void out.append("{}");
    out.append("{\n");
    entries.forEach(([key, item], i) => {
      out.append(`${pad}  `, h("span", { class: "j-key" }, JSON.stringify(key)), ": ");
      render(out, item, depth + 1);
      out.append(i < entries.length - 1 ? ",\n" : "\n");
    });
    out.append(`${pad}}`);
  }
}
