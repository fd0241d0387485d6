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
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffered.slice(0, end);
      const breakLength = buffered.startsWith("\r\n", end) ? 2 : 1;
      // A lone CR at the end of a chunk may be the first half of a CRLF: wait for more.
      if (buffered[end] === "\r" && end + 1 === buffered.length) break;
      buffered = buffered.slice(end + breakLength);
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
