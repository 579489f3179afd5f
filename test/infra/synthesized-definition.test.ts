import { randomUUID } from "node:crypto";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BackgroundAgentsStack } from "../../infra/stacks/background-agents-stack.js";
import { createLocalRuntime, type LocalRuntime } from "../../local/runtime.js";
import { isFinished } from "../../shared/domain/task.js";
import { createLogger } from "../../shared/logger.js";
import { FakeAnthropic } from "../support/fake-anthropic.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { testConfig } from "../support/harness.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The state machine document exactly as `cdk synth` writes it, every reference filled in (the
 * runner's ARN; the harness cluster, task definition, subnets, security group and API URL are
 * only Parameters of RunHarness, which the local runtime maps to its in-process runner).
 */
function synthesizedDefinition(): Record<string, unknown> {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new BackgroundAgentsStack(app, "BackgroundAgents-synth", { stage: "test" });
  const [sm] = Object.values(Template.fromStack(stack).findResources("AWS::StepFunctions::StateMachine"));
  const body = (sm as { Properties: { DefinitionString: { "Fn::Join": [string, Json[]] } } }).Properties
    .DefinitionString;
  const text = body["Fn::Join"][1]
    .map((part) =>
      typeof part === "string" ? part : "arn:aws:lambda:us-east-1:123456789012:function:runner",
    )
    .join("");
  return JSON.parse(text) as Record<string, unknown>;
}

let fake: FakeOpenAI;
let anthropic: FakeAnthropic;
let runtime: LocalRuntime;
const KEY = "synth-key-0123456789abcdef";

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  anthropic = await new FakeAnthropic().start();
  runtime = await createLocalRuntime({
    dynamodbEndpoint: inject("dynamodbEndpoint"),
    tableName: `bga-synth-${randomUUID()}`,
    defaultTenant: {
      config: `${testConfig(fake.url)}
  coder:
    harness:
      type: claude-code
      env:
        ANTHROPIC_API_KEY: sk-ant-synth
        ANTHROPIC_BASE_URL: ${anthropic.url}
`.replace("sub_agents: [worker, thinker]", "sub_agents: [worker, thinker, coder]"),
      apiKey: KEY,
      env: {},
    },
    stateMachineDocument: synthesizedDefinition(),
    retryIntervalMs: 10,
    modelMaxRetries: 0,
    log: createLogger("silent"),
  });
});
afterAll(async () => {
  await runtime.close();
  await fake.close();
  await anthropic.close();
});

describe("the synthesized state machine", () => {
  it("runs locally against the same step handler as npm start: tool turns, a crash retried, done", async () => {
    fake.enqueue(
      { text: "thinking. ", toolCalls: [{ name: "think", arguments: '{"thought":"a"}' }] },
      { text: ["cut ", "off"], delayMs: 150, dropAfter: 1 },
      { text: "answer from the synthesized definition" },
    );
    const res = await runtime.app.request("/v1/tasks", {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ agent: "thinker", task: "go" }),
    });
    const { id } = (await res.json()) as { id: string };
    let task = await runtime.repo.get("default", id);
    for (let i = 0; i < 500 && task && !isFinished(task.status); i++) {
      await new Promise((r) => setTimeout(r, 20));
      task = await runtime.repo.get("default", id);
    }
    expect(task).toMatchObject({ status: "completed", result: "answer from the synthesized definition" });
    expect(fake.requests).toHaveLength(3);
  });

  it("runs a harness task through its harness branch (AgentKind, PrepareHarness, RunHarness) to completion", async () => {
    anthropic.enqueue({ text: "harness answer from the synthesized definition" });
    const res = await runtime.app.request("/v1/tasks", {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ agent: "coder", task: "say it" }),
    });
    const { id } = (await res.json()) as { id: string };
    let task = await runtime.repo.get("default", id);
    for (let i = 0; i < 1500 && task && !isFinished(task.status); i++) {
      await new Promise((r) => setTimeout(r, 40));
      task = await runtime.repo.get("default", id);
    }
    expect(task, task?.error ?? "").toMatchObject({
      status: "completed",
      result: "harness answer from the synthesized definition",
    });
  }, 90_000);
});
