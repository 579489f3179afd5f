import * as z from "zod";

/**
 * The five tools: the names and input schemas of the background-agents toolset of Docker's
 * agent runtime. The zod schemas validate; the JSON Schemas (derived from them) are what
 * MCP `tools/list` and `GET /v1/tools` show.
 */
export const MAX_WAIT_SECONDS = 840;
export const DEFAULT_WAIT_SECONDS = 300;

export const RunArgs = z.strictObject({
  agent: z.string().min(1).describe("Name of the sub-agent to start (one of your sub_agents)."),
  task: z.string().min(1).describe("What the sub-agent should do: a complete, self-contained task."),
  expected_output: z.string().optional().describe("What the result should look like."),
});
export const NoArgs = z.strictObject({});
export const TaskIdArgs = z.strictObject({
  task_id: z.string().min(1).describe("The task ID returned by run_background_agent."),
});
export const WaitArgs = z.strictObject({
  task_ids: z
    .array(z.string().min(1))
    .min(1)
    .max(100)
    .refine((ids) => new Set(ids).size === ids.length, "task_ids must be distinct")
    .describe("Task IDs to wait for (1-100, distinct)."),
  timeout: z
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .describe(
      `Seconds to wait at most (default ${DEFAULT_WAIT_SECONDS}, max ${MAX_WAIT_SECONDS}). A timeout does not stop the tasks.`,
    ),
});

export const TOOL_SPECS = {
  run_background_agent: {
    description:
      "Start a sub-agent on a task in the background and return its task ID at once. " +
      "The sub-agent works on its own; use view_background_agent or wait_background_agents to get its result.",
    schema: RunArgs,
  },
  list_background_agents: {
    description: "List the background agent tasks with their status and runtime, newest first.",
    schema: NoArgs,
  },
  view_background_agent: {
    description:
      "Show a background agent task: its status, runtime and output (the live output so far while it runs, the final result when it is done).",
    schema: TaskIdArgs,
  },
  stop_background_agent: {
    description: "Stop a running background agent task. Its output so far is kept.",
    schema: TaskIdArgs,
  },
  wait_background_agents: {
    description:
      "Wait until all the given background agent tasks are done, or until the timeout; returns each task's status and result as JSON.",
    schema: WaitArgs,
  },
} as const;

export type ToolName = keyof typeof TOOL_SPECS;

/**
 * MCP Tasks (SPEC §11): the tools an MCP client may call as a task (`execution.taskSupport` in
 * `tools/list`). Starting a background agent is the one; the others answer at once or are waits.
 */
const TASK_SUPPORT: Partial<Record<ToolName, "optional">> = { run_background_agent: "optional" };

export function taskSupport(name: ToolName): "optional" | "forbidden" {
  return TASK_SUPPORT[name] ?? "forbidden";
}
export const TOOL_NAMES = Object.keys(TOOL_SPECS) as ToolName[];

export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(TOOL_SPECS, name);
}

export interface ToolDefinition {
  name: ToolName;
  description: string;
  input_schema: Record<string, unknown>;
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>;
  return { ...rest, type: "object", additionalProperties: false };
}

let definitions: ToolDefinition[] | undefined;

/** The five definitions with their JSON Schemas, made on first use (not at every cold start). */
export function toolDefinitions(): ToolDefinition[] {
  definitions ??= TOOL_NAMES.map((name) => ({
    name,
    description: TOOL_SPECS[name].description,
    input_schema: jsonSchema(TOOL_SPECS[name].schema),
  }));
  return definitions;
}
