import { describe, expect, it } from "vitest";
import { headUtf8, splitUtf8, tailUtf8 } from "../../shared/domain/chunk.js";
import {
  allowedSources,
  canTransition,
  FINISHED_STATUSES,
  finishingMove,
  newTaskId,
  statusMove,
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

  it("a status move says where it may come from and what it records; a runner's finish only from running", () => {
    expect(statusMove("running")).toEqual({ to: "running", from: ["pending"], starts: true, ends: false });
    expect(statusMove("stopped")).toEqual({
      to: "stopped",
      from: ["pending", "running"],
      starts: false,
      ends: true,
    });
    expect(statusMove("failed").from).toEqual(["pending", "running"]);
    expect(finishingMove("failed")).toEqual({ to: "failed", from: ["running"], starts: false, ends: true });
    expect(statusMove("pending").from).toEqual([]);
  });

  it("task IDs: agent_task_ + 128 random bits, never repeated", () => {
    const ids = new Set(Array.from({ length: 10_000 }, newTaskId));
    expect(ids.size).toBe(10_000);
    for (const id of [...ids].slice(0, 100)) expect(TaskIdSchema.safeParse(id).success).toBe(true);
  });
});

describe("UTF-8 safe cutting", () => {
  // 18 bytes a repeat: h é(2) l l o ␠ w ö(2) r l d ␠ 🙂(4)
  const text = "héllo wörld 🙂".repeat(50);
  const bytes = (s: string) => Buffer.byteLength(s, "utf8");

  it("head and tail: the exact text, cut before a character that would cross the bound", () => {
    expect(headUtf8(text, 10)).toBe("héllo wö");
    expect(headUtf8(text, 9)).toBe("héllo w");
    expect(tailUtf8(text, 10)).toBe("örld 🙂");
    expect(tailUtf8(text, 9)).toBe("rld 🙂");
    expect(tailUtf8(text, 3)).toBe("");
    expect(headUtf8("abc", 10)).toBe("abc");
    expect(tailUtf8("abc", 10)).toBe("abc");
  });

  it("head is a prefix and tail a suffix, as long as the bound allows, whole characters only", () => {
    for (let max = 4; max <= 60; max++) {
      const head = headUtf8(text, max);
      const tail = tailUtf8(text, max);
      for (const cut of [head, tail]) {
        expect(bytes(cut)).toBeLessThanOrEqual(max);
        expect(bytes(cut)).toBeGreaterThan(max - 4);
        expect(cut).not.toContain("\uFFFD");
      }
      expect(text.startsWith(head)).toBe(true);
      expect(text.endsWith(tail)).toBe(true);
    }
  });

  it("split: the pieces put together are the input; each is whole characters, full up to the bound", () => {
    for (const max of [4, 7, 10, 33]) {
      const pieces = splitUtf8(text, max);
      expect(pieces.join("")).toBe(text);
      expect(pieces.length).toBeGreaterThanOrEqual(Math.ceil(bytes(text) / max));
      for (const [i, p] of pieces.entries()) {
        expect(p).not.toContain("\uFFFD");
        expect(bytes(p)).toBeLessThanOrEqual(max);
        if (i < pieces.length - 1) expect(bytes(p)).toBeGreaterThan(max - 4);
        else expect(bytes(p)).toBeGreaterThan(0);
      }
    }
    expect(splitUtf8("short")).toEqual(["short"]);
  });
});
