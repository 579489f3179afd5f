import { describe, expect, it } from "vitest";
import { ChunkPrinter, printable, table, taskFooter } from "../../cli/render.js";
import { COMPLETED_TASK } from "../support/task-fixture.js";

const task = COMPLETED_TASK;

describe("rendering", () => {
  it("aligns table columns", () => {
    expect(
      table(
        ["ID", "STATUS"],
        [
          ["a", "running"],
          ["bbbb", "ok"],
        ],
      ),
    ).toBe("ID    STATUS\na     running\nbbbb  ok");
  });

  it("prints tool calls, tool results and status notes as marked lines of their own", () => {
    let out = "";
    const printer = new ChunkPrinter((t) => {
      out += t;
    });
    const at = task.created_at;
    printer.print({ seq: 1, kind: "text", text: "Let me think", at });
    printer.print({ seq: 2, kind: "tool_call", text: 'think({"thought":"hm"})', at });
    printer.print({ seq: 3, kind: "tool_result", text: "ok", at });
    printer.print({ seq: 4, kind: "text", text: "Done.", at });
    printer.print({ seq: 5, kind: "status", text: "[max_iterations (6) reached]", at });
    expect(out).toBe(
      'Let me think\n[tool call] think({"thought":"hm"})\n[tool result] ok\nDone.\n[status] [max_iterations (6) reached]\n',
    );
    expect(printer.atLineStart).toBe(true);
  });

  it("closes a task's view with its result, error or stop", () => {
    expect(taskFooter(task)).toBe("--- Result (completed in 1.5s) ---\ndone\n");
    expect(taskFooter({ ...task, status: "failed", error: "boom", result: null })).toBe(
      "--- Failed after 1.5s ---\nError: boom\n",
    );
    expect(taskFooter({ ...task, status: "stopped" })).toBe("--- Stopped after 1.5s ---\n");
  });

  it("shows control characters from the server in caret notation on a terminal", () => {
    expect(printable("ok\tline\n\u001b]0;pwned\u0007\u001b[2Jdone\r\u007f\u009b")).toBe(
      "ok\tline\n^[]0;pwned^G^[[2Jdone^M^?\\u009b",
    );
  });
});
