/** One dispatched Server-Sent Event. `id` is the last event ID in effect when it was dispatched. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * An incremental parser of the `text/event-stream` format (the WHATWG rules): feed it text as it
 * arrives, in pieces of any size, and it returns the events completed so far.
 */
export class SseParser {
  /** The last `id:` seen; what a reconnect sends as Last-Event-ID. */
  lastEventId: string | undefined;
  /** The server's `retry:` advice, in milliseconds. */
  retryMs: number | undefined;
  private buffer = "";
  private data: string[] = [];
  private eventType = "";

  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end === -1) break;
      // A CR at the very end may be the first half of CRLF: wait for the next piece.
      if (this.buffer[end] === "\r" && end === this.buffer.length - 1) break;
      const width = this.buffer[end] === "\r" && this.buffer[end + 1] === "\n" ? 2 : 1;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + width);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const type = this.eventType || "message";
    const data = this.data;
    this.eventType = "";
    this.data = [];
    if (data.length === 0) return undefined;
    return { event: type, data: data.join("\n"), id: this.lastEventId };
  }
}
