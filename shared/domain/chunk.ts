import * as z from "zod";

export const CHUNK_KINDS = ["text", "tool_call", "tool_result", "status"] as const;
export const ChunkKindSchema = z.enum(CHUNK_KINDS);
export type ChunkKind = z.infer<typeof ChunkKindSchema>;

/** One numbered piece of a task's output. `seq` runs 1, 2, 3 … with no gaps. */
export const ChunkSchema = z.object({
  seq: z.number().int().positive(),
  kind: ChunkKindSchema,
  text: z.string(),
  at: z.string(),
});
export type Chunk = z.infer<typeof ChunkSchema>;

/** A chunk before it has a number. */
export interface NewChunk {
  kind: ChunkKind;
  text: string;
}

/** Largest text one chunk item holds; longer text is split over several chunks. */
export const MAX_CHUNK_TEXT_BYTES = 32 * 1024;

export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Splits text into pieces of at most `max` UTF-8 bytes, never inside a character. */
export function splitUtf8(text: string, max: number = MAX_CHUNK_TEXT_BYTES): string[] {
  if (byteLength(text) <= max) return [text];
  const pieces: string[] = [];
  let current = "";
  let currentBytes = 0;
  for (const ch of text) {
    const b = byteLength(ch);
    if (currentBytes + b > max) {
      pieces.push(current);
      current = "";
      currentBytes = 0;
    }
    current += ch;
    currentBytes += b;
  }
  if (current) pieces.push(current);
  return pieces;
}

/** Keeps the last `max` bytes of text (never splitting a character). */
export function tailUtf8(text: string, max: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= max) return text;
  let start = buf.length - max;
  // step forward past UTF-8 continuation bytes
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString("utf8");
}

/** Keeps the first `max` bytes of text (never splitting a character). */
export function headUtf8(text: string, max: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= max) return text;
  let end = max;
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString("utf8");
}
