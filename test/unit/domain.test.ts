import { describe, expect, it } from "vitest";
import { headUtf8, splitUtf8, tailUtf8 } from "../../shared/domain/chunk.js";
import {
  allowedSources,
  canTransition,
  FINISHED_STATUSES,
  newTaskId,
  TASK_STATUSES,
  TaskIdSchema,
} from "../../shared/domain/task.js";

describe("task lifecycle", () => {
  it("allows only pending → running → finished, and nothing out of a finished status", () => {
    expect(canTransition("pending", "running")).toBe(true);
    expect(canTransition("running", "completed")).toBe(true);
    expect(canTransition("pending", "stopped")).toBe(true);
    expect(canTransition("pending", "completed")).toBe(false);
    expect(canTransition("running", "pending")).toBe(false);
    for (const from of FINISHED_STATUSES) {
      for (const to of TASK_STATUSES) expect(canTransition(from, to)).toBe(false);
    }
    expect(allowedSources("stopped")).toEqual(["pending", "running"]);
    expect(allowedSources("completed")).toEqual(["running"]);
  });

  it("task IDs: agent_task_ + 128 random bits, never repeated", () => {
    const ids = new Set(Array.from({ length: 10_000 }, newTaskId));
    expect(ids.size).toBe(10_000);
    for (const id of [...ids].slice(0, 100)) expect(TaskIdSchema.safeParse(id).success).toBe(true);
  });
});

describe("UTF-8 safe cutting", () => {
  it("splits, heads and tails text by bytes without breaking a character", () => {
    const text = "héllo wörld 🙂".repeat(50);
    const pieces = splitUtf8(text, 7);
    expect(pieces.join("")).toBe(text);
    for (const p of pieces) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(7);
    expect(Buffer.byteLength(headUtf8(text, 10))).toBeLessThanOrEqual(10);
    expect(text.startsWith(headUtf8(text, 10))).toBe(true);
    expect(text.endsWith(tailUtf8(text, 10))).toBe(true);
    expect(tailUtf8("abc", 10)).toBe("abc");
  });
});
