import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoFaultProxy, INTERNAL_SERVER_ERROR } from "../support/dynamo-fault-proxy.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { API_KEY, type Harness, startHarness } from "../support/harness.js";
import { mcpClient } from "../support/mcp-client.js";

// MCP Tasks when DynamoDB fails (a fault-injecting proxy in front of DynamoDB Local): the client
// gets -32603 "internal error", never DynamoDB's own text, and the next request works.

let fake: FakeOpenAI;
let proxy: DynamoFaultProxy;
let h: Harness;
let client: Client;

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  proxy = await new DynamoFaultProxy(inject("dynamodbEndpoint")).start();
  h = await startHarness({ fake, dynamodbEndpoint: proxy.url });
  client = await mcpClient(h, API_KEY);
});
afterAll(async () => {
  await client.close();
  await h.close();
  await proxy.close();
  await fake.close();
});

async function rpcError(call: Promise<unknown>): Promise<McpError> {
  const err = await call.then(
    () => {
      throw new Error("expected an error");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return err as McpError;
}

describe("MCP Tasks with DynamoDB failing", () => {
  it("tasks/get, tasks/list and tasks/result: -32603 internal error, no DynamoDB text; then they work", async () => {
    const task = await h.run("worker", "be read while the table fails");
    await h.waitFor(task.id);
    await client.experimental.tasks.getTask(task.id); // the key is looked up (and cached) before the faults

    for (const call of [
      () => client.experimental.tasks.getTask(task.id),
      () => client.experimental.tasks.listTasks(),
      () => client.experimental.tasks.getTaskResult(task.id, CallToolResultSchema),
    ]) {
      // Every attempt of the SDK's retries fails.
      proxy.failNext("Query", 10, INTERNAL_SERVER_ERROR);
      const err = await rpcError(call());
      expect(err.code).toBe(ErrorCode.InternalError);
      // (The SDK puts "MCP error <code>: " before the text on each side.)
      expect(err.message).toMatch(/: internal error$/);
      expect(err.message).not.toMatch(/injected|InternalServerError|dynamo/i);
      proxy.failNext("Query", 0);
    }
    expect(proxy.injected.get("Query")).toBeGreaterThanOrEqual(3);

    expect((await client.experimental.tasks.getTask(task.id)).status).toBe("completed");
    expect((await client.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toContain(task.id);
  });
});
