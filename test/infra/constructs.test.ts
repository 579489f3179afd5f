import { App, Duration, Stack } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import { createNodeFunction } from "../../infra/constructs/node-function.js";
import { RunnerFunction } from "../../infra/constructs/runner-function.js";
import { TaskStateMachine } from "../../infra/constructs/task-state-machine.js";
import { TaskTable } from "../../infra/constructs/task-table.js";
import {
  BackgroundAgentsStack,
  stackSettingsFromContext,
} from "../../infra/stacks/background-agents-stack.js";

const CONFIG = new URL("../../examples/local.yaml", import.meta.url).pathname;

function testStack(): Stack {
  return new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test");
}

describe("stack settings from the CDK context", () => {
  it("default to the dev stage, 30 days of logs and the example config", () => {
    expect(stackSettingsFromContext(new App())).toEqual({
      stage: "dev",
      logRetentionDays: RetentionDays.ONE_MONTH,
      agentConfig: "examples/local.yaml",
    });
  });

  it("accept values given on the command line as text", () => {
    const app = new App({ context: { stage: "prod", logRetentionDays: "90" } });
    expect(stackSettingsFromContext(app)).toMatchObject({
      stage: "prod",
      logRetentionDays: RetentionDays.THREE_MONTHS,
    });
  });

  it("refuse a retention CloudWatch does not offer and a stage that cannot name a stack", () => {
    expect(() => stackSettingsFromContext(new App({ context: { logRetentionDays: 45 } }))).toThrow(
      /logRetentionDays: must be a CloudWatch retention/,
    );
    expect(() => stackSettingsFromContext(new App({ context: { stage: "Prod_1" } }))).toThrow(/-c stage:/);
  });
});

describe("construct validation", () => {
  it("refuses a runner budget that leaves no time for the model turn in flight", () => {
    const stack = testStack();
    const table = new TaskTable(stack, "Tasks");
    expect(
      () =>
        new RunnerFunction(stack, "Runner", {
          table,
          agentConfigFile: CONFIG,
          budgetSeconds: 840,
          timeout: Duration.minutes(15),
        }),
    ).toThrow(/must exceed budgetSeconds \(840\) by at least 120 s/);
  });

  it("refuses a step timeout shorter than the runner's Lambda timeout", () => {
    const stack = testStack();
    const runner = new RunnerFunction(stack, "Runner", {
      table: new TaskTable(stack, "Tasks"),
      agentConfigFile: CONFIG,
    });
    expect(() => new TaskStateMachine(stack, "Sm", { runner, stepTimeoutSeconds: 600 })).toThrow(
      /stepTimeoutSeconds \(600\) must be at least the runner's timeout \(900 s\)/,
    );
  });

  it("refuses an environment variable that looks like a provider credential", () => {
    expect(() =>
      createNodeFunction(testStack(), "Fn", {
        entry: "functions/reconciler/handler.ts",
        description: "test",
        environment: { OPENAI_API_KEY: "sk-nope" },
      }),
    ).toThrow(/OPENAI_API_KEY looks like a provider credential/);
  });

  it("refuses an agent config that does not exist or does not parse", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    expect(
      () =>
        new BackgroundAgentsStack(app, "Missing", { stage: "test", agentConfigFile: "does/not/exist.yaml" }),
    ).toThrow(/agent config .*does not exist/);
    expect(
      () => new BackgroundAgentsStack(app, "Invalid", { stage: "test", agentConfigFile: "package.json" }),
    ).toThrow(/invalid agent config/);
  });
});
