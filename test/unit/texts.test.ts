import { describe, expect, it } from "vitest";
import { emptyUsage, type Task } from "../../shared/domain/task.js";
import { formatRuntime, listText, viewText } from "../../shared/tools/texts.js";

const base: Task = {
  id: "agent_task_AAAAAAAAAAAAAAAAAAAAAA",
  agent: "worker",
  caller: "root",
  task: "t",
  expected_output: null,
  status: "running",
  created_at: "2026-01-01T00:00:00.000Z",
  started_at: "2026-01-01T00:00:00.000Z",
  ended_at: null,
  runtime_ms: null,
  result: null,
  error: null,
  usage: emptyUsage(),
  output_bytes: 0,
  last_seq: 0,
  metadata: {},
};

describe("tool texts", () => {
  it("formats runtimes", () => {
    expect(formatRuntime(250)).toBe("250ms");
    expect(formatRuntime(12_345)).toBe("12.3s");
    expect(formatRuntime(125_000)).toBe("2m 5s");
    expect(formatRuntime(3_725_000)).toBe("1h 2m 5s");
  });

  it("view: each status has its body", () => {
    const head = `Task ID: ${base.id}\nAgent: worker\nStatus: `;
    expect(viewText({ ...base, runtime_ms: 1000 }, {})).toBe(
      `${head}running\nRuntime: 1.0s\n--- Output ---\n<no output yet — still running>`,
    );
    expect(viewText({ ...base, runtime_ms: 1000 }, { recent: { text: "abc", omitted: 0 } })).toBe(
      `${head}running\nRuntime: 1.0s\n--- Output ---\nabc\n[still running...]`,
    );
    expect(viewText({ ...base, runtime_ms: 1000 }, { recent: { text: "abc", omitted: 99 } })).toContain(
      `[99 bytes of earlier output left out; GET /v1/tasks/${base.id}/output has all of it]\nabc`,
    );
    expect(viewText({ ...base, status: "failed", error: "boom", runtime_ms: 5 }, {})).toBe(
      `${head}failed\nRuntime: 5ms\n--- Output ---\n<task failed>\nError: boom`,
    );
    expect(viewText({ ...base, status: "stopped", runtime_ms: 5 }, {})).toBe(
      `${head}stopped\nRuntime: 5ms\n--- Output ---\n<task was stopped>`,
    );
    expect(
      viewText(
        { ...base, status: "completed", result: "R", runtime_ms: 5 },
        { result: { text: "R", omitted: 7 } },
      ),
    ).toBe(
      `${head}completed\nRuntime: 5ms\n--- Output ---\nR\n\n[result cut: 7 more bytes; GET /v1/tasks/${base.id} has all of it]`,
    );
  });

  it("list: empty text, or a header and one block per task", () => {
    expect(listText([], false)).toBe("No background agent tasks found.");
    expect(listText([{ ...base, runtime_ms: 1500 }], false)).toBe(
      `Background Agent Tasks:\n\nID: ${base.id}\nAgent: worker\nStatus: running\nRuntime: 1.5s`,
    );
  });
});
