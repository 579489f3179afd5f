import * as z from "zod";
import { ChunkSchema } from "../../shared/domain/chunk.js";
import { MetadataSchema, TaskSchema, TaskStatusSchema } from "../../shared/domain/task.js";
import { ChangedFileSchema } from "../../shared/harness/channel.js";

/** HTTP shapes (the task and chunk come from the domain, so the API and the steps agree). */

export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .meta({ id: "Error" });

export const TaskObject = TaskSchema.meta({ id: "Task" });
export const ChunkObject = ChunkSchema.meta({ id: "Chunk" });

export const CreateTaskBody = z
  .strictObject({
    agent: z.string().min(1).max(128),
    task: z.string().min(1),
    expected_output: z.string().optional(),
    metadata: MetadataSchema.optional(),
  })
  .meta({ id: "CreateTask" });

export const TaskIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .meta({ examples: ["agent_task_…"] }),
});

export const ListQuery = z.object({
  status: TaskStatusSchema.optional(),
  agent: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(2048).optional(),
});

export const TaskList = z
  .object({ tasks: z.array(TaskObject), next_cursor: z.string().nullable() })
  .meta({ id: "TaskList" });

export const OutputQuery = z.object({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const OutputPage = z
  .object({ chunks: z.array(ChunkObject), next_after: z.number().int(), status: TaskStatusSchema })
  .meta({ id: "OutputPage" });

export const ChangesObject = z
  .object({
    base: z.string().meta({
      description: "The commit the workspace started from (git's empty tree for an empty workspace)",
    }),
    files: z.array(ChangedFileSchema),
    patch: z.string().meta({
      description:
        "A unified diff `git apply` accepts (binary files listed in files, not in the patch), at most max_output_bytes",
    }),
    branch: z
      .string()
      .optional()
      .meta({ description: "The branch the changes were pushed to (workspace.push)" }),
  })
  .meta({ id: "TaskChanges" });

export const IdempotencyHeaders = z.object({
  "idempotency-key": z.string().min(1).max(255).optional(),
});

export const ToolDefinitionObject = z
  .object({ name: z.string(), description: z.string(), input_schema: z.record(z.string(), z.unknown()) })
  .meta({ id: "ToolDefinition" });

export const CallToolResultObject = z
  .object({
    content: z.array(z.object({ type: z.literal("text"), text: z.string() })),
    isError: z.boolean(),
    structuredContent: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "CallToolResult" });

export const errorResponses = {
  400: { description: "Invalid input", schema: ErrorSchema },
  401: { description: "Missing or invalid API key", schema: ErrorSchema },
  404: { description: "Not found", schema: ErrorSchema },
} as const;
