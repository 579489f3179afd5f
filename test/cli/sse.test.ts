import { describe, expect, it } from "vitest";
import { SseParser } from "../../cli/sse.js";

describe("SseParser", () => {
  it("parses events with ids, types and multi-line data, in pieces of any size", () => {
    const stream =
      ': keep-alive\n\nevent: status\ndata: {"a":1}\n\nid: 1\nevent: chunk\ndata: line one\ndata: line two\n\nid: 2\nevent: chunk\ndata:x\n\n';
    const whole = new SseParser().push(stream);
    expect(whole).toEqual([
      { event: "status", data: '{"a":1}', id: undefined },
      { event: "chunk", data: "line one\nline two", id: "1" },
      { event: "chunk", data: "x", id: "2" },
    ]);
    // Byte by byte gives the same events.
    const parser = new SseParser();
    const pieces = [...stream].flatMap((ch) => parser.push(ch));
    expect(pieces).toEqual(whole);
    expect(parser.lastEventId).toBe("2");
  });

  it("takes CRLF and CR line ends, also when a CRLF is split between two pieces", () => {
    const parser = new SseParser();
    expect(parser.push("id: 7\r")).toEqual([]);
    // The last CR might still be the first half of a CRLF: the blank line is only known with the next piece.
    expect(parser.push("\ndata: a\r\r")).toEqual([]);
    expect(parser.push("data: b\r\n\r\n")).toEqual([
      { event: "message", data: "a", id: "7" },
      { event: "message", data: "b", id: "7" },
    ]);
  });

  it("dispatches nothing for an event without data, keeps the last id, reads retry", () => {
    const parser = new SseParser();
    expect(parser.push("id: 5\nevent: ping\n\nretry: 1500\nretry: soon\n")).toEqual([]);
    expect(parser.lastEventId).toBe("5");
    expect(parser.retryMs).toBe(1500);
    expect(parser.push("data\n\n")).toEqual([{ event: "message", data: "", id: "5" }]);
  });

  it("keeps an incomplete event until its blank line arrives", () => {
    const parser = new SseParser();
    expect(parser.push("event: chunk\ndata: {")).toEqual([]);
    expect(parser.push('"seq":1}\n')).toEqual([]);
    expect(parser.push("\n")).toEqual([{ event: "chunk", data: '{"seq":1}', id: undefined }]);
  });
});
