import type { Task } from "../../shared/domain/task.js";

/** A completed task as the API returns it, for tests of what the CLI prints. */
export const COMPLETED_TASK: Task = {
  id: "agent_task_0123456789abcdefghijkl",
  agent: "worker",
  caller: "root",
  task: "t",
  expected_output: null,
  status: "completed",
  created_at: "2025-01-01T00:00:00.000Z",
  started_at: "2025-01-01T00:00:00.000Z",
  ended_at: "2025-01-01T00:00:01.500Z",
  runtime_ms: 1500,
  result: "done",
  error: null,
  usage: { input_tokens: 0, output_tokens: 0, model_calls: 1, tool_calls: 0 },
  output_bytes: 4,
  last_seq: 1,
  metadata: {},
};
