/**
 * C0 and C1 control characters and DEL (ESC among them: it starts every CSI and OSC sequence),
 * and the Unicode controls that reorder or hide text (zero-width marks, bidi overrides and
 * isolates, the BOM).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * `text` safe for a terminal: whoever sends a request to the URL chooses its bytes, and an
 * escape sequence printed as is can retitle the window, clear the screen, rewrite earlier lines
 * or, on some terminals, make it answer back as if typed. Each control is shown as an escape
 * (`\x1b`, `\u202e`) instead, which disarms the sequence it starts while the request stays
 * inspectable. A multi-line body keeps its line breaks and tabs (a CRLF is one break).
 */
export function printable(text: string, opts: { multiline?: boolean } = {}): string {
  const multiline = opts.multiline === true;
  return (multiline ? text.replace(/\r\n/g, "\n") : text).replace(CONTROL, (char) => {
    if (multiline && (char === "\n" || char === "\t")) return char;
    const code = char.codePointAt(0)!;
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
