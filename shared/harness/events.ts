/**
 * The CLIs' JSON event streams (one JSON object a line on stdout) mapped to what the runner
 * writes (SPEC §9): assistant text, a tool call naming what it did (the shell command, the file
 * edited), its outcome, status lines, usage from the CLI's own report, and the final message.
 *
 * - claude-code: `-p --output-format stream-json --verbose --include-partial-messages`: `system`,
 *   `stream_event` (the Messages API's own stream events: text deltas), `assistant` (whole
 *   content blocks: tool_use), `user` (tool_result), `result` (final text, usage, is_error).
 * - codex: `exec --json`: `thread.started`, `turn.started`, `item.started` / `item.completed`
 *   (agent_message, command_execution, file_change, mcp_tool_call, web_search, error, …),
 *   `turn.completed` (usage), `turn.failed`, `error`. Agent messages come whole (no deltas).
 */

export type HarnessEvent =
  /** A model call begins (its first text is written at once). */
  | { kind: "model_call" }
  | { kind: "text"; text: string }
  | { kind: "tool_call"; text: string }
  | { kind: "tool_result"; text: string }
  | { kind: "status"; text: string }
  /** Tokens so far, as the CLI reports them (replaces what an earlier event said). */
  | { kind: "usage"; input_tokens: number; output_tokens: number }
  /** The CLI's final message. */
  | { kind: "result"; text: string }
  /** The CLI's own failure message. */
  | { kind: "error"; text: string };

export interface EventMapper {
  map(event: Record<string, unknown>): HarnessEvent[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** A tool call of Claude Code as a line a person reads: the command, the file, or the call. */
export function describeClaudeTool(name: string, input: Json): string {
  switch (name) {
    case "Bash":
      return `Bash: ${str(input.command)}`;
    case "Write":
    case "Edit":
    case "MultiEdit":
    case "Read":
    case "NotebookEdit":
      return `${name}: ${str(input.file_path) || str(input.notebook_path)}`;
    case "Glob":
    case "Grep":
      return `${name}: ${str(input.pattern)}${input.path ? ` in ${str(input.path)}` : ""}`;
    case "WebFetch":
      return `WebFetch: ${str(input.url)}`;
    default:
      return `${name}(${JSON.stringify(input)})`;
  }
}

/** The text of a tool_result block (a string, or text blocks). */
function toolResultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((c) => (obj(c).type === "text" ? str(obj(c).text) : `[${str(obj(c).type) || "content"}]`))
      .join("\n");
  }
  return "";
}

export class ClaudeEventMapper implements EventMapper {
  /** Tokens of the messages streamed so far (until the final report replaces them). */
  private input = 0;
  private output = 0;
  private turnOutput = 0;

  map(event: Json): HarnessEvent[] {
    switch (event.type) {
      case "stream_event":
        return this.stream(obj(event.event), event.parent_tool_use_id);
      case "assistant": {
        // Text was streamed as deltas; tool calls are mapped here, whole.
        const out: HarnessEvent[] = [];
        for (const block of (obj(event.message).content as unknown[] | undefined) ?? []) {
          const b = obj(block);
          if (b.type === "tool_use")
            out.push({ kind: "tool_call", text: describeClaudeTool(str(b.name), obj(b.input)) });
        }
        return out;
      }
      case "user": {
        const out: HarnessEvent[] = [];
        for (const block of (obj(event.message).content as unknown[] | undefined) ?? []) {
          const b = obj(block);
          if (b.type !== "tool_result") continue;
          const text = toolResultText(b.content);
          out.push({ kind: "tool_result", text: b.is_error ? `error: ${text}` : text });
        }
        return out;
      }
      case "system":
        if (event.subtype === "init") {
          return [
            {
              kind: "status",
              text: `[claude-code ${str(event.claude_code_version)} started, model ${str(event.model)}]`,
            },
          ];
        }
        if (event.subtype === "api_retry") {
          return [
            { kind: "status", text: `[claude-code: model call retried: ${str(event.error) || "error"}]` },
          ];
        }
        return [];
      case "result": {
        const usage = obj(event.usage);
        const out: HarnessEvent[] = [
          {
            kind: "usage",
            input_tokens:
              num(usage.input_tokens) +
              num(usage.cache_creation_input_tokens) +
              num(usage.cache_read_input_tokens),
            output_tokens: num(usage.output_tokens),
          },
        ];
        const text = str(event.result);
        if (event.is_error || (typeof event.subtype === "string" && event.subtype !== "success")) {
          const errors = Array.isArray(event.errors) ? event.errors.map(String).join("; ") : "";
          out.push({ kind: "error", text: text || errors || `claude-code ended with ${str(event.subtype)}` });
        } else {
          out.push({ kind: "result", text });
        }
        return out;
      }
      default:
        return [];
    }
  }

  private stream(e: Json, parent: unknown): HarnessEvent[] {
    // A sub-agent's (Task tool) stream is its own: its tool calls still show, its text does not.
    if (parent) return [];
    switch (e.type) {
      case "message_start": {
        const usage = obj(obj(e.message).usage);
        this.input +=
          num(usage.input_tokens) +
          num(usage.cache_creation_input_tokens) +
          num(usage.cache_read_input_tokens);
        this.turnOutput = 0;
        return [{ kind: "model_call" }, this.usage()];
      }
      case "content_block_delta": {
        const delta = obj(e.delta);
        return delta.type === "text_delta" && str(delta.text)
          ? [{ kind: "text", text: str(delta.text) }]
          : [];
      }
      case "message_delta": {
        const out = num(obj(e.usage).output_tokens);
        this.output += Math.max(0, out - this.turnOutput);
        this.turnOutput = Math.max(this.turnOutput, out);
        return [this.usage()];
      }
      default:
        return [];
    }
  }

  private usage(): HarnessEvent {
    return { kind: "usage", input_tokens: this.input, output_tokens: this.output };
  }
}

/** `/bin/bash -lc 'cmd'` (how codex runs a command) as the command itself. */
export function unwrapShell(command: string): string {
  const single = /^\S*\/?(?:ba|z)?sh -l?c '([\s\S]*)'$/.exec(command);
  if (single?.[1]) return single[1].replace(/'\\''/g, "'");
  const double = /^\S*\/?(?:ba|z)?sh -l?c "([\s\S]*)"$/.exec(command);
  if (double?.[1]) return double[1].replace(/\\([\\"$`])/g, "$1");
  return command;
}

export class CodexEventMapper implements EventMapper {
  private input = 0;
  private output = 0;
  private lastMessage = "";
  private texts = 0;

  map(event: Json): HarnessEvent[] {
    switch (event.type) {
      case "turn.started":
        return [{ kind: "model_call" }];
      case "item.started":
        return this.itemStarted(obj(event.item));
      case "item.completed":
        return this.itemCompleted(obj(event.item));
      case "turn.completed": {
        const usage = obj(event.usage);
        this.input += num(usage.input_tokens);
        this.output += num(usage.output_tokens);
        return [
          { kind: "usage", input_tokens: this.input, output_tokens: this.output },
          { kind: "result", text: this.lastMessage },
        ];
      }
      case "turn.failed":
        return [{ kind: "error", text: str(obj(event.error).message) || "codex: the turn failed" }];
      case "error":
        return [{ kind: "error", text: str(event.message) || "codex reported an error" }];
      default:
        return [];
    }
  }

  private itemStarted(item: Json): HarnessEvent[] {
    if (item.type === "command_execution")
      return [{ kind: "tool_call", text: `shell: ${unwrapShell(str(item.command))}` }];
    return [];
  }

  private itemCompleted(item: Json): HarnessEvent[] {
    switch (item.type) {
      case "agent_message": {
        const text = str(item.text);
        this.lastMessage = text;
        // Messages arrive whole: one after another, each on its own paragraph.
        const sep = this.texts++ > 0 ? "\n\n" : "";
        return text ? [{ kind: "text", text: sep + text }] : [];
      }
      case "command_execution": {
        const code = item.exit_code;
        const head = code === 0 ? "" : `exit ${code === null || code === undefined ? "?" : String(code)}\n`;
        return [{ kind: "tool_result", text: head + str(item.aggregated_output) }];
      }
      case "file_change": {
        const changes = ((item.changes as unknown[] | undefined) ?? []).map(
          (c) => `${str(obj(c).kind)} ${str(obj(c).path)}`,
        );
        return [
          { kind: "tool_call", text: `apply_patch: ${changes.join(", ")}` },
          { kind: "tool_result", text: str(item.status) || "completed" },
        ];
      }
      case "mcp_tool_call":
        return [
          {
            kind: "tool_call",
            text: `${str(item.server)}.${str(item.tool)}(${JSON.stringify(item.arguments ?? {})})`,
          },
          { kind: "tool_result", text: str(item.status) },
        ];
      case "web_search":
        return [{ kind: "tool_call", text: `web_search: ${str(item.query)}` }];
      case "error":
        return [{ kind: "status", text: `[codex: ${str(item.message)}]` }];
      default:
        return [];
    }
  }
}
