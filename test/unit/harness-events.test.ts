import { describe, expect, it } from "vitest";
import type { HarnessJob } from "../../shared/harness/channel.js";
import { harnessArgs, harnessEnv, toToml } from "../../shared/harness/clis.js";
import { ClaudeEventMapper, CodexEventMapper, unwrapShell } from "../../shared/harness/events.js";

/** The CLIs' event streams as chunks (SPEC §9), and their command lines and environments. */

describe("Claude Code events", () => {
  it("names what each tool did, and takes usage and the result from the final report", () => {
    const m = new ClaudeEventMapper();
    const tool = (name: string, input: object) =>
      m.map({ type: "assistant", message: { content: [{ type: "tool_use", id: "t", name, input }] } });
    expect(tool("Write", { file_path: "/ws/a.ts", content: "x" })).toEqual([
      { kind: "tool_call", text: "Write: /ws/a.ts" },
    ]);
    expect(tool("Edit", { file_path: "/ws/b.ts" })).toEqual([{ kind: "tool_call", text: "Edit: /ws/b.ts" }]);
    expect(tool("Bash", { command: "npm test" })).toEqual([{ kind: "tool_call", text: "Bash: npm test" }]);
    expect(
      m.map({
        type: "user",
        message: {
          content: [
            {
              type: "tool_result",
              tool_use_id: "t",
              content: [{ type: "text", text: "boom" }],
              is_error: true,
            },
          ],
        },
      }),
    ).toEqual([{ kind: "tool_result", text: "error: boom" }]);
    // A sub-agent's own stream (Task tool) is not the agent's text.
    expect(
      m.map({
        type: "stream_event",
        parent_tool_use_id: "t",
        event: { type: "content_block_delta", delta: { type: "text_delta", text: "inner" } },
      }),
    ).toEqual([]);
    expect(
      m.map({
        type: "result",
        subtype: "success",
        is_error: false,
        result: "All done.",
        usage: {
          input_tokens: 10,
          cache_read_input_tokens: 5,
          cache_creation_input_tokens: 1,
          output_tokens: 7,
        },
      }),
    ).toEqual([
      { kind: "usage", input_tokens: 16, output_tokens: 7 },
      { kind: "result", text: "All done." },
    ]);
    expect(m.map({ type: "result", subtype: "error_max_turns", is_error: true, result: "" })).toContainEqual({
      kind: "error",
      text: "claude-code ended with error_max_turns",
    });
  });
});

describe("Codex events", () => {
  it("maps commands, file changes, messages, usage and failures", () => {
    const m = new CodexEventMapper();
    expect(m.map({ type: "turn.started" })).toEqual([{ kind: "model_call" }]);
    expect(
      m.map({
        type: "item.started",
        item: { type: "command_execution", command: "/bin/bash -lc 'ls -la'", status: "in_progress" },
      }),
    ).toEqual([{ kind: "tool_call", text: "shell: ls -la" }]);
    expect(
      m.map({
        type: "item.completed",
        item: { type: "command_execution", command: "x", aggregated_output: "no such file\n", exit_code: 2 },
      }),
    ).toEqual([{ kind: "tool_result", text: "exit 2\nno such file\n" }]);
    expect(
      m.map({
        type: "item.completed",
        item: {
          type: "file_change",
          status: "completed",
          changes: [
            { path: "src/a.ts", kind: "update" },
            { path: "b.md", kind: "add" },
          ],
        },
      }),
    ).toEqual([
      { kind: "tool_call", text: "apply_patch: update src/a.ts, add b.md" },
      { kind: "tool_result", text: "completed" },
    ]);
    expect(m.map({ type: "item.completed", item: { type: "agent_message", text: "First." } })).toEqual([
      { kind: "text", text: "First." },
    ]);
    expect(m.map({ type: "item.completed", item: { type: "agent_message", text: "Last." } })).toEqual([
      { kind: "text", text: "\n\nLast." },
    ]);
    expect(
      m.map({
        type: "turn.completed",
        usage: { input_tokens: 100, cached_input_tokens: 20, output_tokens: 9 },
      }),
    ).toEqual([
      { kind: "usage", input_tokens: 100, output_tokens: 9 },
      { kind: "result", text: "Last." },
    ]);
    expect(m.map({ type: "turn.failed", error: { message: "stream disconnected" } })).toEqual([
      { kind: "error", text: "stream disconnected" },
    ]);
  });

  it("unwraps the shell codex runs a command in", () => {
    expect(unwrapShell("/bin/bash -lc 'echo '\\''hi'\\'''")).toBe("echo 'hi'");
    expect(unwrapShell('/bin/bash -lc "printf \'a\\\\n\' > f && echo \\"$HOME\\""')).toBe(
      "printf 'a\\n' > f && echo \"$HOME\"",
    );
    expect(unwrapShell("git status")).toBe("git status");
  });
});

const job = (harness: Partial<HarnessJob["harness"]> & Pick<HarnessJob["harness"], "type">): HarnessJob => ({
  tenantId: "t",
  taskId: "agent_task_x",
  agent: "a",
  task: "-rf is not a flag here",
  expectedOutput: "a patch",
  instruction: 'Say "hi".',
  harness: { args: [], env: {}, ...harness },
  timeoutSeconds: 60,
  maxOutputBytes: 1000,
  lastSeq: 0,
  outputBytes: 0,
  usage: { input_tokens: 0, output_tokens: 0, model_calls: 0, tool_calls: 0 },
  chunkExpiresAt: 0,
});

describe("command lines and environments", () => {
  it("codex: a Responses provider for OPENAI_BASE_URL, effort, instruction and config as -c; the task after --", () => {
    const args = harnessArgs(
      job({
        type: "codex",
        effort: "high",
        env: { OPENAI_BASE_URL: "http://127.0.0.1:9/v1/" },
        config: { a: { b: [1, "x"] } },
      }),
    );
    expect(args.slice(0, 4)).toEqual([
      "exec",
      "--json",
      "--skip-git-repo-check",
      "--dangerously-bypass-approvals-and-sandbox",
    ]);
    expect(args).toContain(
      'model_providers.bga={name="bga",base_url="http://127.0.0.1:9/v1",wire_api="responses",env_key="OPENAI_API_KEY"}',
    );
    expect(args).toContain("model_provider=bga");
    expect(args).toContain('model_reasoning_effort="high"');
    expect(args).toContain('developer_instructions="Say \\"hi\\"."');
    expect(args).toContain('a={b=[1,"x"]}');
    expect(args.slice(-2)).toEqual(["--", "-rf is not a flag here\n\nExpected output: a patch"]);
    expect(toToml({ "odd key": true })).toBe('{"odd key"=true}');
  });

  it("claude-code: stream-json, bypassPermissions, effort, the instruction appended; an environment from scratch", () => {
    const j = job({
      type: "claude-code",
      effort: "low",
      args: ["--model", "m"],
      env: { ANTHROPIC_API_KEY: "k", HOME: "/evil" },
    });
    const args = harnessArgs(j);
    expect(args).toEqual(
      expect.arrayContaining([
        "-p",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "bypassPermissions",
        "--model",
        "m",
      ]),
    );
    expect(args[args.indexOf("--effort") + 1]).toBe("low");
    expect(args[args.indexOf("--append-system-prompt") + 1]).toBe('Say "hi".');
    const env = harnessEnv(j, { home: "/h", tmp: "/h/tmp" });
    expect(env.HOME).toBe("/h"); // the harness env cannot move the home
    expect(env.CLAUDE_CONFIG_DIR).toBe("/h/.claude");
    expect(env.ANTHROPIC_API_KEY).toBe("k");
    expect(env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC).toBe("1");
    expect(Object.keys(env).sort()).toEqual(
      [
        "ANTHROPIC_API_KEY",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
        "CLAUDE_CONFIG_DIR",
        "DISABLE_AUTOUPDATER",
        "GIT_TERMINAL_PROMPT",
        "HOME",
        "LANG",
        "LC_ALL",
        "NO_COLOR",
        "PATH",
        "TERM",
        "TMPDIR",
        ...(process.getuid?.() === 0 ? ["IS_SANDBOX"] : []),
      ].sort(),
    );
  });
});
