/**
 * The reference the API's cold init is compared with: what any API of this design must load, and
 * nothing of ours. Hono with `streamHandle` (as functions/api/handler.ts), zod with one schema, the
 * DynamoDB document client and one command class, the Step Functions client and StartExecution,
 * and the Powertools logger and metrics (no tracer), all made at load as a handler makes them.
 * Bundled with the same esbuild options as the API (infra/constructs/lambda-bundle.ts).
 */
export const REFERENCE_HANDLER_SOURCE = `import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
import * as z from "zod";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

const logger = new Logger({ serviceName: "reference" });
const metrics = new Metrics({ namespace: "Reference", serviceName: "reference" });
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const sfn = new SFNClient({});
const NewTask = z.object({ agent: z.string().min(1), task: z.string().min(1) });

const app = new Hono();
app.post("/v1/tasks", async (c) => {
  const input = NewTask.parse(await c.req.json());
  await doc.send(new GetCommand({ TableName: "tasks", Key: { pk: input.agent, sk: "TASK" } }));
  await sfn.send(new StartExecutionCommand({ stateMachineArn: "arn:aws:states:::stateMachine:x", input: JSON.stringify(input) }));
  logger.info("task started");
  metrics.publishStoredMetrics();
  return c.json({ ok: true }, 201);
});
export const handler = streamHandle(app);
`;
