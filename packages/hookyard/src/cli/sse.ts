const LINE_BREAK = /\r\n|\r|\n/g;

/** One Server-Sent Event: its `event:` name (default "message"), `id:` and joined `data:` lines. */
export interface ServerSentEvent {
  event: string;
  id: string | null;
  data: string;
}

/**
 * The events of a `text/event-stream` body, as they arrive (comments and keep-alives skipped).
 * The stream's line endings may be LF, CRLF or CR, as the format allows.
 */
export async function* serverSentEvents(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffered = "";
  let event = "message";
  let id: string | null = null;
  let data: string[] = [];
  for await (const chunk of body) {
    // Only the new text is searched for a line break: a large event (a 25 MiB body) arrives in
    // many chunks, and searching all of it again for each would be quadratic.
    let searchFrom = Math.max(0, buffered.length - 1);
    buffered += decoder.decode(chunk, { stream: true });
    for (;;) {
      LINE_BREAK.lastIndex = searchFrom;
      const match = LINE_BREAK.exec(buffered);
      if (match === null) break;
      const end = match.index;
      // A lone CR at the end of what has come may be the first half of a CRLF: wait for more.
      if (match[0] === "\r" && end + 1 === buffered.length) break;
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + match[0].length);
      searchFrom = 0;
      if (line === "") {
        if (data.length > 0) yield { event, id, data: data.join("\n") };
        event = "message";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
  }
}
